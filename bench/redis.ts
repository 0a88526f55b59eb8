/**
 * The async scenario on the redis driver (issue 13): durable acks per second and CPU per ack of
 * one relay, and of two relays on the same Redis, against two references measured in the same
 * run on this machine: BullMQ's own `queue.add` of the same payload from a bare Node process
 * (bench/bullmq-baseline.ts, the floor: what Redis and BullMQ cost before the relay adds HTTP,
 * credentials, admission and its record), and the same route on the sqlite driver.
 *
 * redis-server runs as the docs ask (AOF, `appendfsync always`, `noeviction`) in a temp dir on a
 * free port. On a 2-core machine everything shares the cores: wrk on core 0, the relays, the
 * target and Redis on core 1, so "two instances" cannot show more throughput than one here; what
 * it shows is that the work is shared (each instance takes part, the sum holds) and what a second
 * process costs in CPU per ack. Every (system, round) starts its relays fresh; Redis is shared by
 * the run. The rows are left out, saying so, when redis-server is missing.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CORES,
  cpuSeconds,
  freePort,
  HAS_TASKSET,
  hasCommand,
  mean,
  relayEntry,
  type ScenarioOptions,
  type Service,
  type ServiceSpec,
  startService,
  stop,
  waitForPort,
} from './lib.ts';
import { runWrk, type WrkResult } from './wrk.ts';

const FLOOR_SCRIPT = fileURLToPath(new URL('./bullmq-baseline.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface RedisRow {
  system: string;
  round: number;
  rps: number;
  requests: number;
  non2xx: number;
  socketErrors: number;
  p99: number;
  /** Relays' CPU per ack (both instances' together for two). */
  cpuUsPerAck: number;
  /** redis-server's CPU per ack. */
  redisCpuUsPerAck: number;
  /** Acks each instance gave (two instances: the work is shared). */
  perInstance: number[];
}

export interface RedisBench {
  skipped?: string;
  floor?: { aps: number; adds: number; cpuUsPerAdd: number };
  rows: RedisRow[];
  summary: { system: string; rps: number; cpuUsPerAck: number; redisCpuUsPerAck: number }[];
}

interface Options extends ScenarioOptions {
  smoke: boolean;
  /** Waits until a relay's queue is drained (run.ts' drain). */
  drain: (relayUrl: string) => Promise<void>;
}

async function startRedis(work: string, children: ChildProcess[]): Promise<{ port: number; pid: number }> {
  const port = await freePort();
  const dir = join(work, 'redis');
  mkdirSync(dir, { recursive: true });
  const pinned = HAS_TASKSET && CORES > 1;
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'yes',
    '--appendfsync',
    'always',
    '--maxmemory',
    '1gb',
    '--maxmemory-policy',
    'noeviction',
  ];
  const child = spawn(
    pinned ? 'taskset' : 'redis-server',
    pinned ? ['-c', '1', 'redis-server', ...args] : args,
    {
      stdio: 'ignore',
    },
  );
  children.push(child);
  await waitForPort(port);
  return { port, pid: child.pid! };
}

let starts = 0;

/** A relay with the bench's async route; on Redis, or (no port) on a SQLite file of its own. */
async function relaySpec(
  name: string,
  redisPort: number | undefined,
  options: Options,
): Promise<ServiceSpec> {
  const port = await freePort();
  const base = `${name}-${++starts}`;
  const file = join(options.work, `${base}.yaml`);
  const queue =
    redisPort === undefined
      ? `queue: { path: "${join(options.work, `${base}.db`)}" }`
      : `queue:
  driver: redis
  redis: { url: "redis://127.0.0.1:${redisPort}", prefix: bench }`;
  writeFileSync(
    file,
    `server: { port: ${port}, host: 127.0.0.1 }
${queue}
admin: { enabled: false }
routes:
  - id: bench-async
    path: /bench/async
    delivery: async
    forward:
      url: http://127.0.0.1:${options.targetPort}/hook
      auth: { type: bearer, token: "${options.token}" }
    queue: { concurrency: 16 }
`,
  );
  return {
    name,
    command: process.execPath,
    args: [relayEntry(ROOT), 'start', '-c', file],
    ready: { port, path: '/readyz' },
  };
}

function floor(redisPort: number, seconds: number, connections: number): Promise<RedisBench['floor']> {
  const pinned = HAS_TASKSET && CORES > 1;
  const args = [FLOOR_SCRIPT];
  return new Promise((resolve, reject) => {
    execFile(
      pinned ? 'taskset' : process.execPath,
      pinned ? ['-c', '1', process.execPath, ...args] : args,
      {
        env: {
          ...process.env,
          SECONDS: String(seconds),
          CONNECTIONS: String(connections),
          REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        },
        timeout: (seconds + 30) * 1000,
      },
      (error, stdout) => {
        if (error) reject(error);
        else resolve(JSON.parse(stdout.trim().split('\n').pop()!) as RedisBench['floor']);
      },
    );
  });
}

/** wrk against each relay at once, the connections split between them; results summed. */
async function load(urls: string[], seconds: number, options: Options): Promise<WrkResult[]> {
  const each = Math.max(1, Math.floor(options.connections / urls.length));
  return Promise.all(
    urls.map((url) => runWrk(`${url}/bench/async`, seconds, each, options.bodyFile, 'application/json')),
  );
}

/** One row: warm-up, drained queue, the measured window, drained again. */
async function measure(
  system: string,
  round: number,
  relays: Service[],
  redisPid: number,
  options: Options,
): Promise<RedisRow> {
  const urls = relays.map((r) => r.url);
  if (options.warmup > 0) await load(urls, options.warmup, options);
  await options.drain(urls[0]!);
  const pids = relays.flatMap((r) => r.pids());
  const cpu0 = cpuSeconds(pids);
  const rcpu0 = cpuSeconds([redisPid]);
  const results = await load(urls, options.seconds, options);
  const requests = results.reduce((sum, r) => sum + r.requests, 0);
  const per = (s: number) => (requests > 0 ? (s * 1e6) / requests : 0);
  const row: RedisRow = {
    system,
    round,
    rps: results.reduce((sum, r) => sum + r.rps, 0),
    requests,
    non2xx: results.reduce((sum, r) => sum + r.non2xx, 0),
    socketErrors: results.reduce((sum, r) => sum + r.socketErrors, 0),
    p99: Math.max(...results.map((r) => r.p99)),
    cpuUsPerAck: per(cpuSeconds(pids) - cpu0),
    redisCpuUsPerAck: per(cpuSeconds([redisPid]) - rcpu0),
    perInstance: results.map((r) => r.requests),
  };
  await options.drain(urls[0]!);
  return row;
}

export async function redisBench(options: Options): Promise<RedisBench> {
  if (!hasCommand('redis-server')) {
    return { skipped: 'redis-server is missing (apt-get install redis-server)', rows: [], summary: [] };
  }
  const redis = await startRedis(options.work, options.children);
  const onRedis = (name: string) => () => relaySpec(name, redis.port, options);
  // Fresh relays for every (system, round); Redis itself is shared, like the target.
  const systems = [
    { name: 'hookrelay-sqlite', relays: [() => relaySpec('relay-sqlite', undefined, options)] },
    { name: 'hookrelay-redis-1', relays: [onRedis('relay-a')] },
    { name: 'hookrelay-redis-2', relays: [onRedis('relay-a'), onRedis('relay-b')] },
  ];
  const rows: RedisRow[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    for (const system of systems) {
      const relays: Service[] = [];
      try {
        for (const spec of system.relays) relays.push(await startService(spec, options.children));
        rows.push(await measure(system.name, round, relays, redis.pid, options));
      } finally {
        await Promise.all(relays.map((r) => stop(r.child)));
      }
      process.stdout.write(
        `  round ${round} async-redis ${system.name}: ${rows.at(-1)!.rps.toFixed(0)} req/s\n`,
      );
    }
  }
  const measuredFloor = await floor(redis.port, options.smoke ? 1 : options.seconds, options.connections);
  const summary = systems.map((system) => {
    const mine = rows.filter((r) => r.system === system.name);
    return {
      system: system.name,
      rps: mean(mine.map((r) => r.rps)),
      cpuUsPerAck: mean(mine.map((r) => r.cpuUsPerAck)),
      redisCpuUsPerAck: mean(mine.map((r) => r.redisCpuUsPerAck)),
    };
  });
  return { floor: measuredFloor, rows, summary };
}

/** The table: acks/s and CPU per ack as ratios against the floor and the sqlite row of this run. */
export function printRedis(result: RedisBench): void {
  if (result.skipped) {
    process.stdout.write(`\nasync on redis: left out, ${result.skipped}\n`);
    return;
  }
  const floorAps = result.floor?.aps ?? 0;
  const sqlite = result.summary.find((s) => s.system === 'hookrelay-sqlite');
  const ratio = (x: number, y: number | undefined) => (y ? `${(x / y).toFixed(2)}x` : 'n/a');
  process.stdout.write(
    `\nasync on redis (AOF always; floor: BullMQ queue.add from bare Node, ${floorAps.toFixed(0)} adds/s, ` +
      `${(result.floor?.cpuUsPerAdd ?? 0).toFixed(0)} µs CPU/add; sqlite: the same route on the sqlite driver)\n`,
  );
  process.stdout.write(
    '| system | acks/s | x floor | x sqlite | relay CPU µs/ack | x sqlite CPU | redis CPU µs/ack |\n|---|---|---|---|---|---|---|\n',
  );
  for (const s of result.summary) {
    const redisCpu = s.system === 'hookrelay-sqlite' ? '-' : s.redisCpuUsPerAck.toFixed(0);
    process.stdout.write(
      `| ${s.system} | ${s.rps.toFixed(0)} | ${ratio(s.rps, floorAps)} | ${ratio(s.rps, sqlite?.rps)} | ` +
        `${s.cpuUsPerAck.toFixed(0)} | ${ratio(s.cpuUsPerAck, sqlite?.cpuUsPerAck)} | ${redisCpu} |\n`,
    );
  }
  const one = result.summary.find((s) => s.system === 'hookrelay-redis-1');
  const two = result.summary.find((s) => s.system === 'hookrelay-redis-2');
  if (one && two) {
    process.stdout.write(
      `two instances vs one: ${ratio(two.rps, one.rps)} acks/s, ${ratio(two.cpuUsPerAck, one.cpuUsPerAck)} CPU per ack ` +
        `(${CORES} cores: the relays, Redis and the target share one core here, so a second instance cannot add CPU; ` +
        `what it can add is a second event loop waiting on Redis)\n`,
    );
  }
}

/** Any non-2xx, socket error or empty run of the redis rows. */
export function redisFailures(result: RedisBench): string[] {
  return result.rows
    .filter(
      (r) => r.non2xx > 0 || r.socketErrors > 0 || r.requests === 0 || r.perInstance.some((n) => n === 0),
    )
    .map((r) => `async-redis/${r.system}`);
}
