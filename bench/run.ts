/**
 * `npm run bench`: hookrelay side by side with the target called directly, nginx, and the minimal
 * Node forwarder, under the same load. See docs/performance.md for the method.
 *
 *   npm run bench                  full run (BENCH_DURATION=10 s per measurement, 2 rounds)
 *   npm run bench -- --smoke       2 s, 1 round: every scenario must answer 2xx, plus the CI guard
 *                                  (bench/guard.ts); used by CI
 *   npm run bench -- --only json-bearer,startup
 *                                  just those scenarios (combines with --smoke); any of
 *                                  json-bearer, json-stream, soap-xml-map, async-durable-ack,
 *                                  retry, fixed-rate, large, redis, xml-flood, attack, tracing,
 *                                  startup. An unknown name exits 2 with this list.
 *   npm run bench -- --soak        1 M requests through hookrelay; RSS and heap at 100 k vs 1 M
 *   npm run bench -- --xml-flood   = --only xml-flood (bench/xml-flood.ts)
 *   npm run bench -- --redis       = --only redis: the async scenario on the redis driver (bench/redis.ts)
 *   npm run bench -- --tracing     = --only tracing: tracing off, on at 100% and at 10% (bench/tracing.ts)
 *
 * Every measurement runs in a fresh process: for each (scenario, system, round) the system under
 * test (hookrelay, the node forwarder floors, nginx) is started, waited for, warmed up, measured and
 * stopped, so a row's CPU and peak RSS are its own; the targets are shared by the run. json-stream
 * and async-durable-ack are compared with json-bearer's hookrelay row, retry with its
 * node-forwarder row: selected without json-bearer, they measure that row too and say so.
 * `startup` (bench/startup.ts) times spawn → first 200 from /readyz and reads the idle RSS.
 * The attack scenario (bench/attack.ts) runs slow senders and idle sockets against a relay under
 * `ulimit -n`, and measures how much of a legitimate caller's traffic is still served.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error: bin/build.js is plain JavaScript (it must load without type stripping).
import { ensureBuilt } from '../bin/build.js';
import { attackScenario, printAttack } from './attack.ts';
import { guardChecks, printGuard } from './guard.ts';
import { largeBodies } from './large.ts';
import {
  CORES,
  HAS_TASKSET,
  hasCommand,
  type ScenarioOptions,
  startService,
  stop,
  withFreshService,
} from './lib.ts';
import { fixedRate, soak, sqliteBaseline } from './modes.ts';
import { nginxSpec } from './nginx.ts';
import { printRedis, redisBench, redisFailures } from './redis.ts';
import { definitions, drain, plan, runSmallBodies, type SmallBodyContext } from './scenarios.ts';
import { parseArgs, type Selection, UsageError } from './select.ts';
import { printStartup, startupBench } from './startup.ts';
import { type Latency, printLatency, printSummary, type Summary, summarise } from './summary.ts';
import { type BenchSetup, hookrelaySpec, targetSpec } from './systems.ts';
import { printTracing, tracingBench, tracingFailures } from './tracing.ts';
import { runWrk } from './wrk.ts';
import { type FloodResult, xmlFlood } from './xml-flood.ts';

let selection: Selection;
try {
  selection = parseArgs(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  process.stderr.write(`bench: ${error.message}\n`);
  process.exit(2);
}
const SMOKE = selection.smoke;
const env = process.env;
const DURATION = Number(env.BENCH_DURATION ?? (SMOKE ? 2 : 10));
const WARMUP = Number(env.BENCH_WARMUP ?? (SMOKE ? 1 : 3));
const ROUNDS = Number(env.BENCH_ROUNDS ?? (SMOKE ? 1 : 2));
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 32);
const RATE = Number(env.BENCH_RATE ?? 1000);
const FAIL_EVERY = Number(env.BENCH_FAIL_EVERY ?? 20);
const STARTUP_RUNS = Number(env.BENCH_STARTUP_RUNS ?? 5);
const TOKEN = 'bench-token-0123456789';
const AUTH = `Bearer ${TOKEN}`;

const root = fileURLToPath(new URL('..', import.meta.url));
const here = (p: string) => join(root, 'bench', p);
const work = mkdtempSync(join(tmpdir(), 'hookrelay-bench-'));
const children: ChildProcess[] = [];

/** The target, load and rounds every scenario that starts its own relays shares. */
function scenarioOptions(targetPort: number, rounds: number): ScenarioOptions {
  return {
    targetPort,
    token: TOKEN,
    bodyFile: here('fixtures/order.json'),
    work,
    children,
    seconds: DURATION,
    warmup: SMOKE ? 0 : WARMUP,
    rounds,
    connections: CONNECTIONS,
  };
}

const redisOptions = (targetPort: number) => ({
  ...scenarioOptions(targetPort, ROUNDS),
  smoke: SMOKE,
  drain,
});

const tracingOptions = (targetPort: number) => scenarioOptions(targetPort, SMOKE ? 1 : Math.max(ROUNDS, 3));

async function main(): Promise<number> {
  if (!hasCommand('wrk')) {
    process.stderr.write('bench: wrk is required (apt-get install wrk)\n');
    return 1;
  }
  // The relay runs as `npm start` runs it (bin/hookrelay.js: dist/): built here, before any
  // measurement, so no start time includes a build.
  const built = await ensureBuilt(root);
  if (built.state === 'unavailable')
    process.stderr.write(`bench: dist/ could not be built: ${built.reason}\n`);
  const has = (name: string) => selection.scenarios.has(name as never);
  process.stdout.write(
    `bench: ${CORES} cores, taskset ${HAS_TASKSET ? 'on (load on core 0, systems and target on core 1)' : 'unavailable'}, ` +
      `${CONNECTIONS} connections, ${DURATION}s x ${ROUNDS} rounds, warm-up ${WARMUP}s, a fresh process per measurement\n` +
      (selection.only ? `bench: only ${[...selection.scenarios].join(', ')}\n` : ''),
  );
  const target = await startService(() => targetSpec('direct', AUTH), children);
  const failing = await startService(() => targetSpec('failing-target', AUTH, FAIL_EVERY), children);
  const setup: BenchSetup = { work, token: TOKEN, targetPort: target.port, failingPort: failing.port };
  const json = { bodyFile: here('fixtures/order.json'), contentType: 'application/json' };
  if (selection.soak)
    return withFreshService(
      () => hookrelaySpec(setup),
      children,
      (relay) =>
        soak({ url: `${relay.url}/bench/json`, pids: relay.pids, bodyFile: json.bodyFile, smoke: SMOKE }),
    );

  const results: Record<string, unknown> = {
    connections: CONNECTIONS,
    duration: DURATION,
    rounds: ROUNDS,
    scenarios: [...selection.scenarios],
  };
  const bad: string[] = [];

  let startup: Awaited<ReturnType<typeof startupBench>> | undefined;
  if (has('startup')) {
    startup = await startupBench({ setup, authorization: AUTH, children, runs: STARTUP_RUNS });
    printStartup(startup);
    results.startup = startup;
  }

  const ctx: SmallBodyContext = {
    setup,
    children,
    target,
    failing,
    authorization: AUTH,
    failEvery: FAIL_EVERY,
    seconds: DURATION,
    warmup: WARMUP,
    rounds: ROUNDS,
    connections: CONNECTIONS,
  };
  const planned = plan(definitions(ctx), selection.scenarios);
  let summary: Summary[] = [];
  if (planned.length > 0) {
    const rows = await runSmallBodies(ctx, planned);
    summary = summarise(rows, planned);
    printSummary(summary);
    Object.assign(results, { summary, rows });
    bad.push(
      ...summary
        .filter((s) => s.non2xx > 0 || s.socketErrors > 0 || s.requests === 0)
        .map((b) => `${b.scenario}/${b.system}`),
    );
  }

  if (has('fixed-rate')) {
    const seconds = SMOKE ? DURATION : 10;
    const at = (url: string, auth: string) =>
      fixedRate(url, RATE, seconds, json.bodyFile, json.contentType, auth);
    const latency: Latency = {
      direct: await at(`${target.url}/hook`, AUTH),
      // A fresh relay is warmed up first (as every other measurement is): its first seconds of JIT
      // compilation would otherwise be the p99.
      hookrelay: await withFreshService(
        () => hookrelaySpec(setup),
        children,
        async (relay) => {
          const url = `${relay.url}/bench/json`;
          await runWrk(url, WARMUP, CONNECTIONS, json.bodyFile, json.contentType, '');
          return at(url, '');
        },
      ),
    };
    printLatency(latency, RATE, seconds);
    results.latency = latency;
  }

  if (has('async-durable-ack')) {
    const baseline = await sqliteBaseline(SMOKE ? 1 : 5);
    const asyncRps = summary.find((r) => r.scenario === 'async-durable-ack')?.rps ?? 0;
    process.stdout.write(
      `\ndurability: one fsync'd SQLite transaction per request (same machine, same run): ${baseline.tps.toFixed(0)} tx/s; ` +
        `durable async acks: ${asyncRps.toFixed(0)} req/s = ${(asyncRps / baseline.tps).toFixed(1)}x that\n`,
    );
    results.sqliteBaseline = baseline;
  }

  if (has('large')) {
    const large = await largeBodies({
      target: { port: target.port, pids: target.pids },
      nginx: hasCommand('nginx') ? async () => (await nginxSpec(work, target.port, AUTH))! : undefined,
      token: TOKEN,
      work,
      children,
      smoke: SMOKE,
      seconds: DURATION,
      warmup: SMOKE ? 0 : WARMUP,
      rounds: ROUNDS,
    });
    results.large = large;
    bad.push(
      ...large.summary
        .filter((s) => s.failures > 0 || s.transfers === 0)
        .map((b) => `large-${b.mode}/${b.system}`),
    );
  }

  if (has('redis')) {
    const onRedis = await redisBench(redisOptions(target.port));
    printRedis(onRedis);
    results.redis = onRedis;
    bad.push(...redisFailures(onRedis));
  }

  if (has('tracing')) {
    const tracing = await tracingBench(tracingOptions(target.port));
    printTracing(tracing.summary);
    results.tracing = tracing;
    bad.push(...tracingFailures(tracing.summary));
  }

  if (has('xml-flood')) {
    const floods = await xmlFlood({ targetPort: target.port, token: TOKEN, work, children, smoke: SMOKE });
    results.xmlFlood = floods;
    bad.push(...floodFailures(floods.results));
  }

  if (has('attack')) {
    const attack = await attackScenario({ smoke: SMOKE, work, children });
    printAttack(attack);
    results.attack = attack;
    // Under attack the legitimate caller must still be served: webhooks and health checks.
    if (attack.servedShare < 0.9 || attack.attack.health.ok === 0) bad.push('attack/legitimate caller');
  }

  let guardFailures: string[] = [];
  if (SMOKE) {
    const checks = guardChecks(summary, startup);
    guardFailures = printGuard(checks);
    results.guard = checks;
  }

  write(results);
  if (bad.length > 0) process.stderr.write(`bench: non-2xx or errors in: ${bad.join(', ')}\n`);
  for (const failure of guardFailures) process.stderr.write(`bench: CI guard failed: ${failure}\n`);
  return bad.length > 0 || guardFailures.length > 0 ? 1 : 0;
}

/**
 * Writes one run's figures to bench/results/<kind>-<date>.json (not committed): kind is `bench` or
 * `smoke`, followed by the selected scenarios after --only.
 */
function write(figures: Record<string, unknown>): void {
  const kind = [
    SMOKE ? 'smoke' : 'bench',
    ...(selection.only ? [[...selection.scenarios].join('+')] : []),
  ].join('-');
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
