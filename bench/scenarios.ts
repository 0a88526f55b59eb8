/**
 * The small-body scenarios (json-bearer, json-stream, soap-xml-map, async-durable-ack, retry): what
 * each sends, which systems it measures and which row is its floor, and the loop that measures
 * them. Every (scenario, system, round) runs in a fresh process (`withFreshService`), started,
 * warmed up, measured and stopped, so a row's CPU and peak RSS are its own; only the target called
 * directly is shared by the run. A scenario whose floor belongs to another one that was not
 * selected (json-stream and async-durable-ack against json-bearer's hookrelay row, retry against
 * its node-forwarder row) brings that row along, saying so.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  cpuSeconds,
  hasCommand,
  resetPeakRss,
  rssMb,
  type Service,
  type ServiceSpec,
  withFreshService,
} from './lib.ts';
import { nginxSpec } from './nginx.ts';
import { type BenchSetup, forwarderSpec, hookrelaySpec } from './systems.ts';
import { runWrk, type WrkResult } from './wrk.ts';

/** The selectable names of the small-body scenarios, in the order they are measured. */
export const SMALL_BODY = [
  'json-bearer',
  'json-stream',
  'soap-xml-map',
  'async-durable-ack',
  'retry',
] as const;
export type SmallBodyName = (typeof SMALL_BODY)[number];

export interface SystemDef {
  name: string;
  /** Appended to the system's URL. */
  path: string;
  /** Starts a fresh process per measurement; absent for the shared target called directly. */
  spec?: () => Promise<ServiceSpec>;
}

export interface Scenario {
  id: SmallBodyName;
  /** As printed (the retry scenario's carries its failure rate). */
  name: string;
  bodyFile: string;
  contentType: string;
  /** The row this scenario's "x floor" columns divide by. */
  floor: { scenario: SmallBodyName; system: string };
  systems: SystemDef[];
  /** The target that answers 503 to one request in N. */
  failing?: boolean;
  /** Queued deliveries: the queue is drained before the relay stops. */
  queued?: boolean;
  /** Measured only as the floor of these scenarios (and only the systems they need). */
  referenceFor?: string[];
}

export interface Row extends WrkResult {
  scenario: string;
  system: string;
  round: number;
  cpuUsPerReq: number;
  targetCpuUsPerReq: number;
  peakRssMb: number;
}

export interface SmallBodyContext {
  setup: BenchSetup;
  children: ChildProcess[];
  target: Service;
  failing: Service;
  authorization: string;
  failEvery: number;
  seconds: number;
  warmup: number;
  rounds: number;
  connections: number;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const fixture = (name: string) => join(ROOT, 'bench/fixtures', name);

export function definitions(ctx: SmallBodyContext): Scenario[] {
  const { setup, authorization } = ctx;
  const relay = (path: string): SystemDef => ({ name: 'hookrelay', path, spec: () => hookrelaySpec(setup) });
  const forwarder: SystemDef = {
    name: 'node-forwarder',
    path: '',
    spec: () => forwarderSpec(setup, authorization),
  };
  const json = { bodyFile: fixture('order.json'), contentType: 'application/json' };
  const nginx: SystemDef[] = hasCommand('nginx')
    ? [
        {
          name: 'nginx',
          path: '/hook',
          spec: async () => (await nginxSpec(setup.work, setup.targetPort, authorization))!,
        },
      ]
    : [];
  return [
    {
      id: 'json-bearer',
      name: 'json-bearer',
      ...json,
      floor: { scenario: 'json-bearer', system: 'node-forwarder' },
      systems: [
        { name: 'direct', path: '/hook' },
        ...nginx,
        forwarder,
        {
          name: 'node-forwarder-obligations',
          path: '',
          spec: () => forwarderSpec(setup, authorization, 'obligations'),
        },
        relay('/bench/json'),
      ],
    },
    // The same body and credentials through a `delivery: stream` route: its floor is hookrelay's
    // own buffered route, so `x floor` reads "stream vs buffered".
    {
      id: 'json-stream',
      name: 'json-stream',
      ...json,
      floor: { scenario: 'json-bearer', system: 'hookrelay' },
      systems: [relay('/bench/stream')],
    },
    {
      id: 'soap-xml-map',
      name: 'soap-xml-map',
      bodyFile: fixture('order.soap.xml'),
      contentType: 'text/xml; charset=utf-8',
      floor: { scenario: 'soap-xml-map', system: 'node-forwarder-xml' },
      systems: [
        { name: 'node-forwarder-xml', path: '', spec: () => forwarderSpec(setup, authorization, 'xml') },
        relay('/bench/xml'),
      ],
    },
    {
      id: 'async-durable-ack',
      name: 'async-durable-ack',
      ...json,
      floor: { scenario: 'json-bearer', system: 'hookrelay' },
      systems: [relay('/bench/async')],
      queued: true,
    },
    {
      id: 'retry',
      name: `retry-503-1-in-${ctx.failEvery}`,
      ...json,
      floor: { scenario: 'json-bearer', system: 'node-forwarder' },
      systems: [relay('/bench/retry')],
      failing: true,
    },
  ];
}

/**
 * The selected scenarios in measuring order, plus, where a selected scenario's floor belongs to
 * one that was not selected, that scenario with only the floor systems (`referenceFor` set).
 */
export function plan(all: Scenario[], selected: ReadonlySet<string>): Scenario[] {
  const out: Scenario[] = [];
  for (const scenario of all) {
    if (selected.has(scenario.id)) {
      out.push(scenario);
      continue;
    }
    const needing = all.filter((s) => selected.has(s.id) && s.floor.scenario === scenario.id);
    if (needing.length === 0) continue;
    const needed = new Set(needing.map((s) => s.floor.system));
    out.push({
      ...scenario,
      systems: scenario.systems.filter((system) => needed.has(system.name)),
      referenceFor: needing.map((s) => s.name),
    });
  }
  return out;
}

/** Waits (bounded) until the relay's queue has nothing pending or in flight. */
export async function drain(relayUrl: string, timeoutMs = 120_000): Promise<void> {
  // Depth is refreshed every 2 s: let one refresh pass after the load stopped.
  await new Promise((r) => setTimeout(r, 2_500));
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const text = await (await fetch(`${relayUrl}/metrics`)).text();
    let open = 0;
    for (const line of text.split('\n')) {
      if (/^hookrelay_queue_depth\{.*state="(pending|inflight)"/.test(line))
        open += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    if (open === 0) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  process.stderr.write('bench: the queue did not drain in time; later figures are disturbed\n');
}

/** One row: warm-up, peak RSS reset, the measured window; the system's and the target's CPU. */
async function measure(
  ctx: SmallBodyContext,
  scenario: Scenario,
  system: SystemDef,
  service: { url: string; pids: () => number[] },
  round: number,
): Promise<Row> {
  const url = `${service.url}${system.path}`;
  // Called directly, the target needs the Authorization header the relays inject.
  const direct = system.spec === undefined;
  const auth = direct ? ctx.authorization : '';
  const target = scenario.failing ? ctx.failing : ctx.target;
  const load = (seconds: number) =>
    runWrk(url, seconds, ctx.connections, scenario.bodyFile, scenario.contentType, auth);
  if (ctx.warmup > 0) await load(ctx.warmup);
  const pids = service.pids();
  const targetPids = direct ? [] : target.pids();
  resetPeakRss(pids);
  const cpu0 = cpuSeconds(pids);
  const tcpu0 = cpuSeconds(targetPids);
  const result = await load(ctx.seconds);
  const perReq = (s: number) => (result.requests > 0 ? (s * 1e6) / result.requests : 0);
  const row: Row = {
    scenario: scenario.name,
    system: system.name,
    round,
    ...result,
    cpuUsPerReq: perReq(cpuSeconds(pids) - cpu0),
    targetCpuUsPerReq: perReq(cpuSeconds(targetPids) - tcpu0),
    peakRssMb: rssMb(pids).peak,
  };
  // The backlog the load left is delivered before the relay stops (as a user's relay would), and
  // the next row's target starts idle.
  if (scenario.queued) await drain(service.url);
  return row;
}

/** Every round of every planned scenario's systems, each row in a fresh process. */
export async function runSmallBodies(ctx: SmallBodyContext, scenarios: Scenario[]): Promise<Row[]> {
  for (const s of scenarios.filter((s) => s.referenceFor))
    process.stdout.write(
      `  ${s.name} ${s.systems.map((x) => x.name).join(', ')}: measured too, the floor of ${s.referenceFor!.join(', ')}\n`,
    );
  const rows: Row[] = [];
  for (let round = 1; round <= ctx.rounds; round++) {
    for (const scenario of scenarios) {
      for (const system of scenario.systems) {
        const row = system.spec
          ? await withFreshService(system.spec, ctx.children, (service) =>
              measure(ctx, scenario, system, service, round),
            )
          : await measure(ctx, scenario, system, ctx.target, round);
        rows.push(row);
        process.stdout.write(
          `  round ${round} ${scenario.name} ${system.name}: ${row.rps.toFixed(0)} req/s, peak RSS ${row.peakRssMb.toFixed(0)} MB\n`,
        );
      }
    }
  }
  return rows;
}
