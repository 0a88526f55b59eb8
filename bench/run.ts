/**
 * `npm run bench`: hookrelay side by side with the target called directly, nginx, and the minimal
 * Node forwarder, under the same load. See docs/performance.md for the method.
 *
 *   npm run bench                 full run (BENCH_DURATION=10 s per measurement, 2 rounds)
 *   npm run bench -- --smoke      2 s, 1 round: checks every scenario answers 2xx (used by CI)
 *   npm run bench -- --soak       1 M requests through hookrelay; RSS and heap at 100 k vs 1 M
 *   npm run bench -- --xml-flood  only the xml-flood scenario (bench/xml-flood.ts)
 *   npm run bench -- --redis      only the async scenario on the redis driver (bench/redis.ts)
 *   npm run bench -- --tracing    only the sync route with tracing off, on at 100% and at 10% (bench/tracing.ts)
 *
 * The last scenario is an attack (bench/attack.ts): slow senders and idle sockets against a relay
 * under `ulimit -n`, and how much of a legitimate caller's traffic is still served.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { attackScenario, printAttack } from './attack.ts';
import { largeBodies } from './large.ts';
import {
  CORES,
  cpuSeconds,
  freePort,
  HAS_TASKSET,
  hasCommand,
  mean,
  processTree,
  rssMb,
  startPinned,
  stop,
  waitForPort,
} from './lib.ts';
import { fixedRate, soak, sqliteBaseline } from './modes.ts';
import { startNginx } from './nginx.ts';
import { printRedis, redisBench, redisFailures } from './redis.ts';
import { printTracing, tracingBench, tracingFailures } from './tracing.ts';
import { runWrk, type WrkResult } from './wrk.ts';
import { type FloodResult, xmlFlood } from './xml-flood.ts';

const args = new Set(process.argv.slice(2));
const SMOKE = args.has('--smoke');
const SOAK = args.has('--soak');
const FLOOD_ONLY = args.has('--xml-flood');
const REDIS_ONLY = args.has('--redis');
const TRACING_ONLY = args.has('--tracing');
const env = process.env;
const DURATION = Number(env.BENCH_DURATION ?? (SMOKE ? 2 : 10));
const WARMUP = Number(env.BENCH_WARMUP ?? (SMOKE ? 1 : 3));
const ROUNDS = Number(env.BENCH_ROUNDS ?? (SMOKE ? 1 : 2));
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 32);
const RATE = Number(env.BENCH_RATE ?? 1000);
const FAIL_EVERY = Number(env.BENCH_FAIL_EVERY ?? 20);
const TOKEN = 'bench-token-0123456789';
const AUTH = `Bearer ${TOKEN}`;

const root = fileURLToPath(new URL('..', import.meta.url));
const here = (p: string) => join(root, 'bench', p);
const node = process.execPath;
const work = mkdtempSync(join(tmpdir(), 'hookrelay-bench-'));
const children: ChildProcess[] = [];

interface System {
  name: string;
  url: string;
  pids: () => number[];
}
interface Scenario {
  name: string;
  /** Scenario whose `floor` system is the reference (default: json-bearer for json bodies). */
  floorScenario?: string;
  bodyFile: string;
  contentType: string;
  floor: string;
  systems: System[];
}
interface Row extends WrkResult {
  scenario: string;
  system: string;
  round: number;
  cpuUsPerReq: number;
  targetCpuUsPerReq: number;
  peakRssMb: number;
}

async function service(
  name: string,
  script: string,
  extra: Record<string, string>,
): Promise<System & { port: number }> {
  const port = await freePort();
  const child = startPinned(1, node, [here(script)], { ...extra, PORT: String(port) });
  children.push(child);
  await waitForPort(port);
  return { name, port, url: `http://127.0.0.1:${port}`, pids: () => [child.pid!] };
}

async function startHookrelay(targetPort: number, failingPort: number): Promise<System & { port: number }> {
  const port = await freePort();
  const file = join(work, 'hookrelay.yaml');
  writeFileSync(
    file,
    `server: { port: ${port}, host: 127.0.0.1 }
queue: { driver: sqlite, path: ${join(work, 'queue.db')} }
admin: { enabled: false }
defaults:
  retry: { attempts: 5, minDelay: 5ms, maxDelay: 50ms }
routes:
  - id: bench-json
    path: /bench/json
    forward:
      url: http://127.0.0.1:${targetPort}/hook
      auth: { type: bearer, token: "${TOKEN}" }
  - id: bench-xml
    path: /bench/xml
    forward:
      url: http://127.0.0.1:${targetPort}/hook
      auth: { type: bearer, token: "${TOKEN}" }
    transform:
      - type: xml
        soap: true
      - type: map
        fields:
          id: OrderCreated.OrderId
          customer: OrderCreated.Customer.Name
          amount: OrderCreated.Total
          currency: OrderCreated.Currency
  - id: bench-async
    path: /bench/async
    delivery: async
    forward:
      url: http://127.0.0.1:${targetPort}/hook
      auth: { type: bearer, token: "${TOKEN}" }
    queue: { concurrency: 16 }
  - id: bench-stream
    path: /bench/stream
    delivery: stream
    forward:
      url: http://127.0.0.1:${targetPort}/hook
      auth: { type: bearer, token: "${TOKEN}" }
  - id: bench-retry
    path: /bench/retry
    forward:
      url: http://127.0.0.1:${failingPort}/hook
      auth: { type: bearer, token: "${TOKEN}" }
`,
  );
  const child = startPinned(1, node, [join(root, 'src/main.ts'), 'start', '-c', file]);
  children.push(child);
  await waitForPort(port);
  return { name: 'hookrelay', port, url: `http://127.0.0.1:${port}`, pids: () => [child.pid!] };
}

async function measure(scenario: Scenario, system: System, target: System, round: number): Promise<Row> {
  // Called directly, the target needs the Authorization header the relays inject.
  const auth = system.name === 'direct' ? AUTH : '';
  await runWrk(system.url, WARMUP, CONNECTIONS, scenario.bodyFile, scenario.contentType, auth);
  const pids = system.pids();
  const targetPids = system === target ? [] : target.pids();
  const cpu0 = cpuSeconds(pids);
  const tcpu0 = cpuSeconds(targetPids);
  const result = await runWrk(
    system.url,
    DURATION,
    CONNECTIONS,
    scenario.bodyFile,
    scenario.contentType,
    auth,
  );
  const perReq = (s: number) => (result.requests > 0 ? (s * 1e6) / result.requests : 0);
  return {
    scenario: scenario.name,
    system: system.name,
    round,
    ...result,
    cpuUsPerReq: perReq(cpuSeconds(pids) - cpu0),
    targetCpuUsPerReq: perReq(cpuSeconds(targetPids) - tcpu0),
    peakRssMb: rssMb(pids).peak,
  };
}

/** Waits (bounded) until the relay's queue has nothing pending or in flight. */
async function drain(relayUrl: string, timeoutMs = 120_000): Promise<void> {
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

function redisOptions(targetPort: number) {
  return {
    targetPort,
    token: TOKEN,
    bodyFile: here('fixtures/order.json'),
    work,
    children,
    seconds: DURATION,
    warmup: SMOKE ? 0 : WARMUP,
    rounds: ROUNDS,
    connections: CONNECTIONS,
    smoke: SMOKE,
    drain,
  };
}

function tracingOptions(targetPort: number) {
  return {
    targetPort,
    token: TOKEN,
    bodyFile: here('fixtures/order.json'),
    work,
    children,
    seconds: DURATION,
    warmup: SMOKE ? 0 : WARMUP,
    rounds: SMOKE ? 1 : Math.max(ROUNDS, 3),
    connections: CONNECTIONS,
  };
}

async function main(): Promise<number> {
  if (!hasCommand('wrk')) {
    process.stderr.write('bench: wrk is required (apt-get install wrk)\n');
    return 1;
  }
  process.stdout.write(
    `bench: ${CORES} cores, taskset ${HAS_TASKSET ? 'on (load on core 0, systems and target on core 1)' : 'unavailable'}, ` +
      `${CONNECTIONS} connections, ${DURATION}s x ${ROUNDS} rounds, warm-up ${WARMUP}s\n`,
  );
  const target = await service('direct', 'target.ts', { EXPECT_AUTH: AUTH });
  const flood = () => xmlFlood({ targetPort: target.port, token: TOKEN, work, children, smoke: SMOKE });
  if (FLOOD_ONLY) {
    const result = await flood();
    write('xml-flood', result);
    return floodFailures(result.results).length > 0 ? 1 : 0;
  }
  if (REDIS_ONLY) {
    const result = await redisBench(redisOptions(target.port));
    printRedis(result);
    write('redis', { ...result });
    return redisFailures(result).length > 0 ? 1 : 0;
  }
  if (TRACING_ONLY) {
    const result = await tracingBench(tracingOptions(target.port));
    printTracing(result.summary);
    write('tracing', { ...result });
    const bad = tracingFailures(result.summary);
    if (bad.length > 0) process.stderr.write(`bench: ${bad.join(', ')}\n`);
    return bad.length > 0 ? 1 : 0;
  }
  const failing = await service('failing-target', 'target.ts', {
    EXPECT_AUTH: AUTH,
    FAIL_EVERY: String(FAIL_EVERY),
  });
  const relay = await startHookrelay(target.port, failing.port);
  const forwarder = await service('node-forwarder', 'forwarder.ts', { TARGET: `${target.url}/hook`, AUTH });
  const xmlFloor = await service('node-forwarder-xml', 'forwarder.ts', {
    TARGET: `${target.url}/hook`,
    AUTH,
    MODE: 'xml',
  });
  const nginxProcess = await startNginx(work, target.port, AUTH, children);
  const nginx: System | undefined = nginxProcess && {
    name: 'nginx',
    url: `http://127.0.0.1:${nginxProcess.port}/hook`,
    pids: () => processTree(nginxProcess.child.pid!),
  };
  if (SOAK)
    return soak({
      url: `${relay.url}/bench/json`,
      pids: relay.pids,
      bodyFile: here('fixtures/order.json'),
      smoke: SMOKE,
    });

  const direct: System = { name: 'direct', url: `${target.url}/hook`, pids: target.pids };
  const json: Scenario = {
    name: 'json-bearer',
    bodyFile: here('fixtures/order.json'),
    contentType: 'application/json',
    floor: 'node-forwarder',
    systems: [
      { ...direct, url: `${direct.url}` },
      ...(nginx ? [nginx] : []),
      forwarder,
      { ...relay, url: `${relay.url}/bench/json` },
    ],
  };
  const xml: Scenario = {
    name: 'soap-xml-map',
    bodyFile: here('fixtures/order.soap.xml'),
    contentType: 'text/xml; charset=utf-8',
    floor: 'node-forwarder-xml',
    systems: [xmlFloor, { ...relay, url: `${relay.url}/bench/xml` }],
  };
  const retry: Scenario = {
    name: `retry-503-1-in-${FAIL_EVERY}`,
    bodyFile: here('fixtures/order.json'),
    contentType: 'application/json',
    floor: 'node-forwarder',
    systems: [{ ...relay, url: `${relay.url}/bench/retry` }],
  };
  const durable: Scenario = {
    name: 'async-durable-ack',
    bodyFile: here('fixtures/order.json'),
    contentType: 'application/json',
    floor: 'hookrelay',
    floorScenario: 'json-bearer',
    systems: [{ ...relay, url: `${relay.url}/bench/async` }],
  };
  // The same body and credentials as json-bearer, through a `delivery: stream` route: its floor is
  // hookrelay's own buffered route, so `x floor` reads "stream vs buffered".
  const streamed: Scenario = {
    name: 'json-stream',
    bodyFile: here('fixtures/order.json'),
    contentType: 'application/json',
    floor: 'hookrelay',
    floorScenario: 'json-bearer',
    systems: [{ ...relay, url: `${relay.url}/bench/stream` }],
  };
  const scenarios = [json, streamed, xml, durable, retry];
  const targetOf = (s: Scenario) => (s === retry ? failing : target);
  const rows: Row[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const scenario of scenarios) {
      for (const system of scenario.systems) {
        const row = await measure(
          scenario,
          system,
          system.name === 'direct' ? system : targetOf(scenario),
          round,
        );
        rows.push(row);
        // Queued deliveries keep the target and the relay busy after the load stops: let them
        // drain so the next measurement starts from the same state.
        if (scenario === durable) await drain(relay.url);
        process.stdout.write(
          `  round ${round} ${scenario.name} ${system.name}: ${row.rps.toFixed(0)} req/s\n`,
        );
      }
    }
  }
  const latency = SMOKE
    ? undefined
    : {
        direct: await fixedRate(`${direct.url}`, RATE, 10, json.bodyFile, json.contentType, AUTH),
        hookrelay: await fixedRate(`${relay.url}/bench/json`, RATE, 10, json.bodyFile, json.contentType, ''),
      };
  const summary = summarise(rows, scenarios);
  print(summary, latency);
  const large = await largeBodies({
    target: { port: target.port, pids: target.pids },
    nginx: nginxProcess && { port: nginxProcess.port, pids: nginx!.pids },
    token: TOKEN,
    work,
    children,
    smoke: SMOKE,
    seconds: DURATION,
    warmup: SMOKE ? 0 : WARMUP,
    rounds: ROUNDS,
  });
  const onRedis = await redisBench(redisOptions(target.port));
  printRedis(onRedis);
  const tracing = await tracingBench(tracingOptions(target.port));
  printTracing(tracing.summary);
  const floods = await flood();
  const attack = await attackScenario({ smoke: SMOKE, work, children });
  printAttack(attack);
  const baseline = await sqliteBaseline(SMOKE ? 1 : 5);
  const asyncRps = summary.find((r) => r.scenario === 'async-durable-ack')?.rps ?? 0;
  process.stdout.write(
    `\ndurability: one fsync'd SQLite transaction per request (same machine, same run): ${baseline.tps.toFixed(0)} tx/s; ` +
      `durable async acks: ${asyncRps.toFixed(0)} req/s = ${(asyncRps / baseline.tps).toFixed(1)}x that\n`,
  );
  write(SMOKE ? 'smoke' : 'bench', {
    connections: CONNECTIONS,
    duration: DURATION,
    rounds: ROUNDS,
    summary,
    latency,
    sqliteBaseline: baseline,
    rows,
    large,
    xmlFlood: floods,
    attack,
    redis: onRedis,
    tracing,
  });
  const bad = [
    ...summary
      .filter((s) => s.non2xx > 0 || s.socketErrors > 0 || s.requests === 0)
      .map((b) => `${b.scenario}/${b.system}`),
    ...large.summary
      .filter((s) => s.failures > 0 || s.transfers === 0)
      .map((b) => `large-${b.mode}/${b.system}`),
    ...floodFailures(floods.results),
    ...redisFailures(onRedis),
    ...tracingFailures(tracing.summary),
    // Under attack the legitimate caller must still be served: webhooks and health checks.
    ...(attack.servedShare < 0.9 || attack.attack.health.ok === 0 ? ['attack/legitimate caller'] : []),
  ];
  if (bad.length > 0) {
    process.stderr.write(`bench: non-2xx or errors in: ${bad.join(', ')}\n`);
    return 1;
  }
  return 0;
}

/** Writes one run's figures to bench/results/<kind>-<date>.json (not committed). */
function write(kind: string, figures: Record<string, unknown>): void {
  const file = join(root, 'bench/results', `${kind}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ date: new Date().toISOString(), cores: CORES, ...figures }, null, 2)}\n`,
  );
  process.stdout.write(`results: ${file}\n`);
}

/**
 * The flood is answered with 2xx, 413 (the limits) or 503 (the workers' queue full), and /healthz
 * always: a request without an answer in time, a 5xx other than 503 or a failed health poll is a
 * failure of the scenario.
 */
function floodFailures(results: FloodResult[]): string[] {
  return results
    .filter(
      (r) =>
        r.health.errors > 0 || Object.keys(r.outcomes).some((status) => !/^(2\d\d|413|503)$/.test(status)),
    )
    .map((r) => `xml-flood/${r.variant}`);
}

interface Summary {
  scenario: string;
  system: string;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  socketErrors: number;
  requests: number;
  vsDirect: number;
  vsNginx: number | undefined;
  vsFloor: number;
  cpuUsPerReq: number;
  targetCpuUsPerReq: number;
  cpuVsFloor: number;
  peakRssMb: number;
}

function summarise(rows: Row[], scenarios: Scenario[]): Summary[] {
  const pick = (scenario: string, system: string) =>
    rows.filter((r) => r.scenario === scenario && r.system === system);
  const directRps = mean(pick('json-bearer', 'direct').map((r) => r.rps));
  const nginxRows = pick('json-bearer', 'nginx');
  const nginxRps = nginxRows.length > 0 ? mean(nginxRows.map((r) => r.rps)) : undefined;
  const out: Summary[] = [];
  for (const scenario of scenarios) {
    const floor = pick(
      scenario.floorScenario ??
        (scenario.name === 'json-bearer' || scenario.name.startsWith('retry')
          ? 'json-bearer'
          : scenario.name),
      scenario.floor,
    );
    const floorRps = mean(floor.map((r) => r.rps));
    const floorCpu = mean(floor.map((r) => r.cpuUsPerReq));
    for (const system of scenario.systems) {
      const rs = pick(scenario.name, system.name);
      const rps = mean(rs.map((r) => r.rps));
      const cpu = mean(rs.map((r) => r.cpuUsPerReq));
      out.push({
        scenario: scenario.name,
        system: system.name,
        rps,
        p50: mean(rs.map((r) => r.p50)),
        p99: Math.max(...rs.map((r) => r.p99)),
        non2xx: rs.reduce((a, r) => a + r.non2xx, 0),
        socketErrors: rs.reduce((a, r) => a + r.socketErrors, 0),
        requests: rs.reduce((a, r) => a + r.requests, 0),
        vsDirect: rps / directRps,
        vsNginx: nginxRps === undefined ? undefined : rps / nginxRps,
        vsFloor: rps / floorRps,
        cpuUsPerReq: cpu,
        targetCpuUsPerReq: mean(rs.map((r) => r.targetCpuUsPerReq)),
        cpuVsFloor: cpu / floorCpu,
        peakRssMb: Math.max(...rs.map((r) => r.peakRssMb)),
      });
    }
  }
  return out;
}

function print(
  summary: Summary[],
  latency: Record<string, { p50: number; p99: number; non2xx: number }> | undefined,
): void {
  const header = [
    'scenario',
    'system',
    'req/s',
    'p50 ms',
    'p99 ms',
    'non-2xx',
    'x direct',
    'x nginx',
    'x floor',
    'cpu µs/req',
    'x floor cpu',
    'target µs/req',
    'peak RSS MB',
  ];
  const lines = summary.map((s) => [
    s.scenario,
    s.system,
    s.rps.toFixed(0),
    s.p50.toFixed(2),
    s.p99.toFixed(2),
    String(s.non2xx + s.socketErrors),
    s.vsDirect.toFixed(2),
    s.vsNginx === undefined ? '—' : s.vsNginx.toFixed(2),
    s.vsFloor.toFixed(2),
    s.cpuUsPerReq.toFixed(0),
    s.cpuVsFloor.toFixed(2),
    s.targetCpuUsPerReq.toFixed(0),
    s.peakRssMb.toFixed(0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  process.stdout.write(
    `\n${fmt(header)}\n| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |\n${lines.map(fmt).join('\n')}\n`,
  );
  if (latency) {
    process.stdout.write(`\nfixed rate ${RATE} req/s, 10 s, json-bearer:\n`);
    for (const [name, r] of Object.entries(latency)) {
      process.stdout.write(
        `  ${name.padEnd(10)} p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  non-2xx ${r.non2xx}\n`,
      );
    }
    const d = latency.direct!;
    const h = latency.hookrelay!;
    process.stdout.write(`  hookrelay p99 - direct p99 = ${(h.p99 - d.p99).toFixed(2)} ms\n`);
  }
}

let code = 1;
try {
  code = await main();
} catch (error) {
  process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
} finally {
  await Promise.all(children.map((c) => stop(c)));
  rmSync(work, { recursive: true, force: true });
}
process.exit(code);
