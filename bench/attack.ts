/**
 * The attack scenario: slow senders (uploads at 1 byte/s, each within server.requestTimeout) and
 * idle sockets that never send a byte, against a relay whose open files are limited
 * (`ulimit -n 1024`), while a legitimate caller sends webhooks and polls /healthz. It reports the
 * legitimate webhooks served (count and share) and the /healthz p99 under attack, against a
 * baseline of the same caller without the attack measured in the same run, before and after it.
 *
 *   node bench/attack.ts            1000 slow senders + 1100 idle sockets, 15 s phases
 *   node bench/attack.ts --smoke    40 + 60 against `ulimit -n 256`, 2 s phases (CI)
 *   HOOKRELAY_ROOT=/path/to/checkout node bench/attack.ts
 *                                   the same load against another checkout (e.g. before a fix)
 *
 * Every caller connects to 127.0.0.1; the attacker uses the source addresses 127.0.0.2 (slow
 * senders) and 127.0.0.3 (idle sockets), as two hostile clients would, the legitimate caller
 * 127.0.0.1. Each attacker slot reconnects 100 ms after it was closed, until the phase ends.
 * Legitimate requests open a connection each (as most webhook senders do) and give up after 5 s.
 * Counts and ratios, not absolute times, are the figures to read: the machine is shared.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CORES, freePort, HAS_TASKSET, relayEntry, startPinned, stop, waitForPort } from './lib.ts';

export interface AttackOptions {
  smoke: boolean;
  work: string;
  children: ChildProcess[];
  /** The checkout whose relay runs (bin/hookrelay.js, or src/main.ts in older ones; default: this one). */
  root?: string;
}

interface Legit {
  attempts: number;
  ok: number;
  failures: Record<string, number>;
}

interface Health extends Legit {
  p50: number;
  p99: number;
}

interface Phase {
  seconds: number;
  webhooks: Legit;
  health: Health;
}

export interface AttackResult {
  root: string;
  descriptors: number;
  slowSenders: number;
  idleSockets: number;
  baseline: Phase;
  attack: Phase;
  /** The baseline again, after the attack stopped. */
  after: Phase;
  attacker: { connections: number; answers: Record<string, number>; closedWithoutAnswer: number };
  /** Webhooks served under attack / served in the baseline phases (their mean). */
  servedVsBaseline: number;
  /** Share of the webhooks attempted under attack that were served. */
  servedShare: number;
  healthP99VsBaseline: number;
}

const HERE = fileURLToPath(new URL('.', import.meta.url));
const WEBHOOK = Buffer.from('{"id":"evt_1","type":"order.created","amount":4200}');
const LEGIT_TIMEOUT = 5_000;
const HEALTH_TIMEOUT = 2_000;
const HEALTH_EVERY = 100;
const WEBHOOK_WORKERS = 4;
const RECONNECT_AFTER = Number(process.env.BENCH_RECONNECT_MS ?? 1000);

export async function attackScenario(options: AttackOptions): Promise<AttackResult> {
  const root = options.root ?? join(HERE, '..');
  const descriptors = options.smoke ? 256 : 1024;
  const slowSenders = options.smoke ? 40 : 1000;
  const idleSockets = options.smoke ? 60 : 1100;
  const seconds = options.smoke ? 2 : 15;
  const ramp = options.smoke ? 1 : 3;

  const targetPort = await freePort();
  const target = startPinned(1, process.execPath, [join(HERE, 'target.ts')], { PORT: String(targetPort) });
  options.children.push(target);
  await waitForPort(targetPort);
  const relayPort = await freePort();
  const config = join(options.work, 'attack.yaml');
  // Only keys every version of hookrelay knows: the defaults are what is measured.
  writeFileSync(
    config,
    `server: { host: 127.0.0.1, port: ${relayPort} }
log: { level: warn }
routes:
  - id: hook
    path: /hook
    forward: { url: "http://127.0.0.1:${targetPort}/hook" }
`,
  );
  const relay = startLimited(descriptors, root, config);
  options.children.push(relay);
  await waitForPort(relayPort);

  const baseline = await measure(relayPort, seconds);
  // In a process of its own, so that its thousands of sockets do not slow the legitimate caller's loop.
  const attacker = spawnAttacker(relayPort, slowSenders, idleSockets);
  options.children.push(attacker.child);
  await sleep(ramp * 1000);
  const attack = await measure(relayPort, seconds);
  const attackerResult = await attacker.stop();
  // The baseline again once the attack stopped: the machine's load drifts, the mean of the two
  // phases around the attack is the fairer reference.
  await sleep(ramp * 1000);
  const after = await measure(relayPort, seconds);
  await stop(relay);
  await stop(target);

  const served = (baseline.webhooks.ok + after.webhooks.ok) / 2;
  const p99 = (baseline.health.p99 + after.health.p99) / 2;
  return {
    root,
    descriptors,
    slowSenders,
    idleSockets,
    baseline,
    attack,
    after,
    attacker: attackerResult,
    servedVsBaseline: attack.webhooks.ok / Math.max(1, served),
    servedShare: attack.webhooks.ok / Math.max(1, attack.webhooks.attempts),
    healthP99VsBaseline: attack.health.p99 / Math.max(0.001, p99),
  };
}

/** The relay under `ulimit -n`, pinned to core 1 like the other systems when possible. */
function startLimited(descriptors: number, root: string, config: string): ChildProcess {
  const node = process.execPath;
  const command = HAS_TASKSET && CORES > 1 ? ['taskset', '-c', '1', node] : [node];
  return spawn(
    'bash',
    [
      '-c',
      `ulimit -n ${descriptors} && exec "$@"`,
      'bash',
      ...command,
      relayEntry(root),
      'start',
      '-c',
      config,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

/** The legitimate caller for `seconds`: webhooks back to back from a few workers, /healthz polled. */
async function measure(port: number, seconds: number): Promise<Phase> {
  const until = performance.now() + seconds * 1000;
  const webhooks: Legit = { attempts: 0, ok: 0, failures: {} };
  const health: Legit = { attempts: 0, ok: 0, failures: {} };
  const latencies: number[] = [];
  const worker = async () => {
    while (performance.now() < until) {
      webhooks.attempts++;
      const outcome = await call(port, 'POST', '/hook', WEBHOOK, LEGIT_TIMEOUT);
      if (outcome.status >= 200 && outcome.status < 300) webhooks.ok++;
      else count(webhooks.failures, outcome.failure ?? String(outcome.status));
    }
  };
  const poller = async () => {
    while (performance.now() < until) {
      const started = performance.now();
      health.attempts++;
      const outcome = await call(port, 'GET', '/healthz', undefined, HEALTH_TIMEOUT);
      const ms = performance.now() - started;
      if (outcome.status === 200) {
        health.ok++;
        latencies.push(ms);
      } else {
        count(health.failures, outcome.failure ?? String(outcome.status));
        // A check that failed counts as the whole timeout: the p99 says what a load balancer saw.
        latencies.push(HEALTH_TIMEOUT);
      }
      await sleep(Math.max(0, HEALTH_EVERY - ms));
    }
  };
  await Promise.all([...Array.from({ length: WEBHOOK_WORKERS }, worker), poller()]);
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { seconds, webhooks, health: { ...health, p50: at(0.5), p99: at(0.99) } };
}

/** One request on a connection of its own; a failure is named by the error code. */
function call(
  port: number,
  method: string,
  path: string,
  body: Buffer | undefined,
  timeout: number,
): Promise<{ status: number; failure?: string }> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (outcome: { status: number; failure?: string }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        headers: body ? { 'content-type': 'application/json', 'content-length': body.length } : {},
      },
      (res) => {
        res.resume();
        res.on('end', () => finish({ status: res.statusCode ?? 0 }));
        res.on('error', () => finish({ status: 0, failure: 'reset' }));
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      finish({ status: 0, failure: 'timeout' });
    }, timeout);
    req.on('error', (error: NodeJS.ErrnoException) => finish({ status: 0, failure: error.code ?? 'error' }));
    req.end(body);
  });
}

type AttackerResult = AttackResult['attacker'];

/** Runs `startAttacker` in a child process (`--attacker`); `stop()` resolves with its counts. */
function spawnAttacker(port: number, slow: number, idle: number) {
  const args = [fileURLToPath(import.meta.url), '--attacker', String(port), String(slow), String(idle)];
  // On the load generator's core, as everything that makes load (lib.ts's startPinned).
  const pinned = HAS_TASKSET && CORES > 1;
  const child = spawn(
    pinned ? 'taskset' : process.execPath,
    pinned ? ['-c', '0', process.execPath, ...args] : args,
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    async stop(): Promise<AttackerResult> {
      child.stdin!.end();
      await exited;
      return JSON.parse(output) as AttackerResult;
    },
  };
}

/**
 * The attacker: `slow` slots that each upload 1 byte per second (Content-Length 10000) and
 * `idle` slots that connect and send nothing, each reconnecting after it was closed.
 */
function startAttacker(port: number, slow: number, idle: number) {
  let running = true;
  const sockets = new Set<Socket>();
  const result = { connections: 0, answers: {} as Record<string, number>, closedWithoutAnswer: 0 };
  const timers = new Set<NodeJS.Timeout>();
  const later = (fn: () => void, ms: number) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };
  const slot = (localAddress: string, trickle: boolean) => {
    if (!running) return;
    result.connections++;
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    sockets.add(socket);
    let answered = false;
    let ticker: NodeJS.Timeout | undefined;
    socket.on('connect', () => {
      if (!trickle) return;
      socket.write(
        'POST /hook HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n',
      );
      ticker = setInterval(() => {
        if (socket.writable) socket.write('a');
      }, 1000);
    });
    socket.once('data', (chunk: Buffer) => {
      answered = true;
      count(result.answers, /^HTTP\/1\.[01] (\d{3})/.exec(chunk.toString('latin1'))?.[1] ?? 'other');
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(ticker);
      sockets.delete(socket);
      if (!answered && running) result.closedWithoutAnswer++;
      later(() => slot(localAddress, trickle), RECONNECT_AFTER);
    });
  };
  for (let i = 0; i < slow; i++) slot('127.0.0.2', true);
  for (let i = 0; i < idle; i++) slot('127.0.0.3', false);
  return {
    async stop() {
      running = false;
      for (const timer of timers) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      await sleep(200);
      return result;
    },
  };
}

function count(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function printAttack(result: AttackResult): void {
  const pct = (share: number) => `${(share * 100).toFixed(1)}%`;
  const phase = (name: string, p: Phase) =>
    `  ${name.padEnd(9)} webhooks served ${p.webhooks.ok}/${p.webhooks.attempts} (${pct(p.webhooks.ok / Math.max(1, p.webhooks.attempts))})` +
    `${Object.keys(p.webhooks.failures).length ? ` failures ${JSON.stringify(p.webhooks.failures)}` : ''}; ` +
    `/healthz ok ${p.health.ok}/${p.health.attempts}, p50 ${p.health.p50.toFixed(1)} ms, p99 ${p.health.p99.toFixed(1)} ms` +
    `${Object.keys(p.health.failures).length ? ` failures ${JSON.stringify(p.health.failures)}` : ''}\n`;
  process.stdout.write(
    `\nattack: ${result.slowSenders} slow senders (1 byte/s) + ${result.idleSockets} idle sockets, relay under ulimit -n ${result.descriptors}, ${result.baseline.seconds} s per phase (shared machine: read the ratios)\n` +
      phase('baseline', result.baseline) +
      phase('attack', result.attack) +
      phase('after', result.after) +
      `  under attack: ${result.servedVsBaseline.toFixed(2)}x the webhooks served without it (mean of before and after), ${pct(result.servedShare)} of those attempted; /healthz p99 ${result.healthP99VsBaseline.toFixed(1)}x\n` +
      `  attacker: ${result.attacker.connections} connections, answers ${JSON.stringify(result.attacker.answers)}, closed without an answer ${result.attacker.closedWithoutAnswer}\n`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--attacker') {
  const [port, slow, idle] = process.argv.slice(3).map(Number) as [number, number, number];
  const attacker = startAttacker(port, slow, idle);
  // Runs until the parent closes stdin, then prints its counts.
  process.stdin.resume();
  process.stdin.on('end', async () => {
    process.stdout.write(JSON.stringify(await attacker.stop()));
    process.exit(0);
  });
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const smoke = process.argv.includes('--smoke');
  const work = mkdtempSync(join(tmpdir(), 'hookrelay-attack-'));
  const children: ChildProcess[] = [];
  let code = 1;
  try {
    const result = await attackScenario({
      smoke,
      work,
      children,
      ...(process.env.HOOKRELAY_ROOT ? { root: process.env.HOOKRELAY_ROOT } : {}),
    });
    printAttack(result);
    const file = join(
      HERE,
      'results',
      `attack-${smoke ? 'smoke-' : ''}${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
    );
    writeFileSync(
      file,
      `${JSON.stringify({ date: new Date().toISOString(), cores: CORES, ...result }, null, 2)}\n`,
    );
    process.stdout.write(`results: ${file}\n`);
    code = 0;
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
  } finally {
    await Promise.all(children.map((c) => stop(c)));
    rmSync(work, { recursive: true, force: true });
  }
  process.exit(code);
}
