/**
 * The xml-flood scenario (issue 11, item 4): BODIES concurrent 0.94 MB bodies, ROUNDS times, at a
 * transforming route while /healthz is polled, one fresh hookrelay process per variant (pinned to
 * core 1 beside the target, the client on core 0), its peak RSS reset before the load:
 *
 * - xml-default: the issue's SOAP body (120,000 elements) at an `xml` + `map` route with the
 *   default limits: refused with 413 by the pre-scan;
 * - xml-raised: the same route with the element and text-node limits raised so it is parsed, by
 *   the parsing worker threads (2xx, or 503 when their queue is full);
 * - json-map: a JSON body of the same size and shape through a `map` step (parsed on the event
 *   loop: does JSON need the same treatment?).
 *
 * Reported: /healthz p50/p99/max, the relay's own event-loop delay (p99, max), the requests'
 * outcomes by status, their p50/p99, peak RSS; and
 * first the event-loop time per document, inline and through the workers (bench/xml-event-loop.ts).
 * BENCH_XML_VARIANTS picks variants (the unfixed code knows no limits: run it with
 * `xml-default,json-map`, where xml-default then parses everything).
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CORES,
  freePort,
  HAS_TASKSET,
  relayEntry,
  resetPeakRss,
  rssMb,
  type ServiceSpec,
  startService,
  stop,
} from './lib.ts';
import { floodJson, floodXml } from './xml-bodies.ts';

const CLIENT = fileURLToPath(new URL('./xml-flood-client.ts', import.meta.url));
const POLLER = fileURLToPath(new URL('./health-poller.ts', import.meta.url));
const EVENT_LOOP = fileURLToPath(new URL('./xml-event-loop.ts', import.meta.url));
const MAIN = relayEntry(fileURLToPath(new URL('..', import.meta.url)));
const VARIANTS = ['xml-default', 'xml-raised', 'json-map'] as const;
type Variant = (typeof VARIANTS)[number];

export interface FloodResult {
  variant: Variant;
  bodies: number;
  rounds: number;
  seconds: number;
  requests: number;
  outcomes: Record<string, number>;
  p50: number;
  p99: number;
  health: { count: number; errors: number; p50: number; p99: number; max: number };
  /** The relay's own event-loop delay during the flood (prom-client's, reset by the scrape before). */
  eventLoopDelay: { p99: number; max: number };
  startRssMb: number;
  peakRssMb: number;
}

export interface EventLoopRow {
  document: string;
  bytes: number;
  where: string;
  ms: number;
  outcome: string;
}

const pinned = HAS_TASKSET && CORES > 1;

/** Runs a bench script pinned to `core`; `result` is the JSON line it prints last. */
function child<T>(
  script: string,
  core: number,
  env: Record<string, string>,
  timeoutMs: number,
): { result: Promise<T>; process: ChildProcess } {
  let proc: ChildProcess | undefined;
  const result = new Promise<T>((resolve, reject) => {
    proc = execFile(
      pinned ? 'taskset' : process.execPath,
      pinned ? ['-c', String(core), process.execPath, script] : [script],
      { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${script} failed: ${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout.trim().split('\n').pop()!) as T);
      },
    );
  });
  return { result, process: proc! };
}

function routeFor(variant: Variant, target: string, auth: string): string {
  const map = `      - type: map
        fields:
          id: OrderCreated.OrderId
          count: OrderCreated.Count`;
  const xml =
    variant === 'xml-raised'
      ? '      - type: xml\n        soap: true\n        maxElements: 200000\n        maxTextNodes: 200000'
      : '      - type: xml\n        soap: true';
  return `  - id: ${variant}
    path: /flood
    forward:
      url: ${target}/hook
      auth: ${auth}
    transform:
${variant === 'json-map' ? map : `${xml}\n${map}`}
`;
}

/** A relay with the variant's route, ready at /readyz (started again if its free port was taken). */
async function startRelay(
  variant: Variant,
  routes: string,
  work: string,
  children: ChildProcess[],
): Promise<{ port: number; child: ChildProcess }> {
  const spec = async (): Promise<ServiceSpec> => {
    const port = await freePort();
    const file = join(work, `flood-${variant}.yaml`);
    writeFileSync(
      file,
      `server: { port: ${port}, host: 127.0.0.1 }
queue: { driver: memory }
admin: { enabled: false }
routes:
${routes}`,
    );
    return {
      name: variant,
      command: process.execPath,
      args: [MAIN, 'start', '-c', file],
      ready: { port, path: '/readyz' },
    };
  };
  const relay = await startService(spec, children);
  return { port: relay.port, child: relay.child };
}

/**
 * The relay's event-loop delay since the last scrape, in ms, from `nodejs_eventloop_lag_p99_seconds`
 * and `_max_seconds` (prom-client samples it every 10 ms and resets it on every scrape).
 */
async function eventLoopDelay(port: number): Promise<{ p99: number; max: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const read = (name: string) =>
    Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN) * 1000;
  return { p99: read('nodejs_eventloop_lag_p99_seconds'), max: read('nodejs_eventloop_lag_max_seconds') };
}

/**
 * A few small requests first: the first ones load code lazily (the HTTP client, the parser) and
 * would stall the loop for a moment in any relay; that is a cold start, not what is measured.
 */
async function warmUp(port: number, variant: Variant): Promise<void> {
  const json = variant === 'json-map';
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/flood`, {
      method: 'POST',
      headers: { 'content-type': json ? 'application/json' : 'text/xml; charset=utf-8' },
      body: json ? floodJson(1) : floodXml(6),
    });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`xml flood: the ${variant} warm-up request got ${res.status}`);
    await (await fetch(`http://127.0.0.1:${port}/healthz`)).arrayBuffer();
  }
}

export async function xmlFlood(options: {
  targetPort: number;
  token: string;
  work: string;
  children: ChildProcess[];
  smoke: boolean;
}): Promise<{ eventLoop: EventLoopRow[]; results: FloodResult[] }> {
  const env = process.env;
  const bodies = Number(env.BENCH_XML_BODIES ?? 120);
  const rounds = Number(env.BENCH_XML_ROUNDS ?? (options.smoke ? 1 : 3));
  const wanted = (env.BENCH_XML_VARIANTS ?? VARIANTS.join(',')).split(',');
  const variants = VARIANTS.filter((v) => wanted.includes(v));
  const target = `http://127.0.0.1:${options.targetPort}`;
  const auth = `{ type: bearer, token: "${options.token}" }`;
  const xmlFile = join(options.work, 'flood.xml');
  const jsonFile = join(options.work, 'flood.json');
  writeFileSync(xmlFile, floodXml());
  writeFileSync(jsonFile, floodJson());

  process.stdout.write('\nxml flood: event-loop time per 0.94 MB document (median)\n');
  const { rows } = await child<{ rows: EventLoopRow[] }>(
    EVENT_LOOP,
    1,
    { RUNS: options.smoke ? '2' : '5' },
    300_000,
  ).result;
  for (const r of rows) {
    process.stdout.write(
      `  ${r.document.padEnd(20)} ${r.where.padEnd(24)} ${r.ms.toFixed(1).padStart(7)} ms  (${r.outcome})\n`,
    );
  }

  process.stdout.write(
    `\nxml flood: ${bodies} concurrent 0.94 MB bodies x ${rounds} rounds, /healthz polled every 20 ms\n`,
  );
  const results: FloodResult[] = [];
  for (const variant of variants) {
    const relay = await startRelay(variant, routeFor(variant, target, auth), options.work, options.children);
    await warmUp(relay.port, variant);
    await eventLoopDelay(relay.port);
    const pid = relay.child.pid!;
    resetPeakRss([pid]);
    const startRssMb = rssMb([pid]).rss;
    const limit = (rounds * 70 + 30) * 1000;
    // The poller is a process of its own, so the flood client's work cannot delay its clock.
    const poller = child<FloodResult['health']>(
      POLLER,
      0,
      { URL: `http://127.0.0.1:${relay.port}/healthz`, EVERY: '20', MAX_SECONDS: String(limit / 1000) },
      limit + 10_000,
    );
    const flood = await child<
      Omit<FloodResult, 'variant' | 'bodies' | 'rounds' | 'health' | 'startRssMb' | 'peakRssMb'>
    >(
      CLIENT,
      0,
      {
        URL: `http://127.0.0.1:${relay.port}/flood`,
        BODY_FILE: variant === 'json-map' ? jsonFile : xmlFile,
        CONTENT_TYPE: variant === 'json-map' ? 'application/json' : 'text/xml; charset=utf-8',
        BODIES: String(bodies),
        ROUNDS: String(rounds),
        TIMEOUT: '60000',
      },
      limit,
    ).result;
    const delay = await eventLoopDelay(relay.port);
    poller.process.kill('SIGTERM');
    const health = await poller.result;
    const row: FloodResult = {
      variant,
      bodies,
      rounds,
      ...flood,
      health,
      eventLoopDelay: delay,
      startRssMb,
      peakRssMb: rssMb([pid]).peak,
    };
    // Its memory is returned before the next variant starts.
    await stop(relay.child);
    results.push(row);
    const outcomes = Object.entries(row.outcomes)
      .sort()
      .map(([status, n]) => `${status}: ${n}`)
      .join(', ');
    process.stdout.write(
      `  ${variant.padEnd(12)} healthz p50 ${row.health.p50.toFixed(1)} ms, p99 ${row.health.p99.toFixed(1)} ms, max ${row.health.max.toFixed(0)} ms (${row.health.count} polls, ${row.health.errors} failed); ` +
        `event-loop delay p99 ${delay.p99.toFixed(0)} ms, max ${delay.max.toFixed(0)} ms; ` +
        `requests ${outcomes} (p50 ${row.p50.toFixed(0)} ms, p99 ${row.p99.toFixed(0)} ms); RSS ${startRssMb.toFixed(0)} → peak ${row.peakRssMb.toFixed(0)} MB; ${row.seconds.toFixed(1)} s\n`,
    );
  }
  return { eventLoop: rows, results };
}
