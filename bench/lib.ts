/** Process, port and /proc helpers for the benchmark harness. Linux only (reads /proc). */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';

export const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
export const CORES = Number(execFileSync('nproc').toString().trim()) || 1;
export const HAS_TASKSET = hasCommand('taskset');

export function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  await waitReady({ port }, undefined, 50, timeoutMs);
}

/** Starts a command pinned to `core` (when taskset exists and there are 2+ cores). */
export function startPinned(
  core: number,
  command: string,
  args: string[],
  env: Record<string, string> = {},
  stdio: 'ignore' | 'inherit' = 'ignore',
): ChildProcess {
  const pinned = HAS_TASKSET && CORES > 1;
  const child = spawn(pinned ? 'taskset' : command, pinned ? ['-c', String(core), command, ...args] : args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', stdio, 'inherit'],
  });
  return child;
}

export async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** Whether something accepts a TCP connection on 127.0.0.1:port now. */
function accepts(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Whether GET http://127.0.0.1:port/path answers 200 now (a fresh connection, no pool). */
function answers200(port: number, path: string): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: 1_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}

/** How a service shows it is ready: it accepts connections, or `GET <path>` answers 200. */
export type Readiness = { port: number } | { port: number; path: string };

/** The child exited before it was ready (e.g. EADDRINUSE: another process took its free port). */
export class ExitedEarly extends Error {}

/**
 * Polls until the service is ready, every `everyMs` from the start of one attempt to the next;
 * fails at once when `child` exits first, and after `timeoutMs`.
 */
export async function waitReady(
  ready: Readiness,
  child?: ChildProcess,
  everyMs = 5,
  timeoutMs = 15_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  const what = 'path' in ready ? `a 200 from ${ready.path}` : 'listening';
  while (Date.now() < until) {
    if (child && (child.exitCode !== null || child.signalCode !== null))
      throw new ExitedEarly(
        `exited (${child.exitCode ?? child.signalCode}) before ${what} on port ${ready.port}`,
      );
    const began = Date.now();
    if ('path' in ready ? await answers200(ready.port, ready.path) : await accepts(ready.port)) return;
    await new Promise((r) => setTimeout(r, Math.max(0, everyMs - (Date.now() - began))));
  }
  throw new Error(
    'path' in ready
      ? `no 200 from ${ready.path} on 127.0.0.1:${ready.port} after ${timeoutMs} ms`
      : `nothing listening on 127.0.0.1:${ready.port} after ${timeoutMs} ms`,
  );
}

/** What starts one system under test: a command pinned to a core, and how it shows it is ready. */
export interface ServiceSpec {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  ready: Readiness;
  /** Default 1, beside the target (the load generator has core 0). */
  core?: number;
  /** The pids whose CPU and RSS count (default: the child; nginx: the master and its workers). */
  pids?: (child: ChildProcess) => number[];
}

export interface Service {
  name: string;
  port: number;
  url: string;
  child: ChildProcess;
  pids: () => number[];
}

/**
 * Starts a spec and waits until it is ready; the child is added to `children` (stopped on exit).
 * Given a factory, a child that exits before it is ready is started again from a new spec (a new
 * free port) up to `attempts` times: between `freePort()` and the child's `listen`, the port can
 * be taken by someone else's connection.
 */
export async function startService(
  spec: ServiceSpec | (() => ServiceSpec | Promise<ServiceSpec>),
  children: ChildProcess[],
  attempts = 3,
): Promise<Service> {
  for (let attempt = 1; ; attempt++) {
    const s = typeof spec === 'function' ? await spec() : spec;
    const child = startPinned(s.core ?? 1, s.command, s.args, s.env);
    children.push(child);
    try {
      // 30 s: on a shared CI machine a cold start can take several times its usual second.
      await waitReady(s.ready, child, 5, 30_000);
      const pids = s.pids ?? ((c: ChildProcess) => [c.pid!]);
      const port = s.ready.port;
      return { name: s.name, port, url: `http://127.0.0.1:${port}`, child, pids: () => pids(child) };
    } catch (error) {
      await stop(child);
      const retry = error instanceof ExitedEarly && typeof spec === 'function' && attempt < attempts;
      if (!retry) throw new Error(`${s.name}: ${(error as Error).message}`);
      process.stderr.write(`bench: ${s.name} ${(error as Error).message}; starting it again\n`);
    }
  }
}

/**
 * Start, wait ready, measure, stop: one measurement in a fresh process, so its CPU and peak RSS
 * (VmHWM) are that measurement's own. `spec` is called per start (a free port, a fresh config).
 */
export async function withFreshService<T>(
  spec: () => ServiceSpec | Promise<ServiceSpec>,
  children: ChildProcess[],
  measure: (service: Service) => Promise<T>,
): Promise<T> {
  const service = await startService(spec, children);
  try {
    return await measure(service);
  } finally {
    await stop(service.child);
  }
}

/** The pid and all of its descendants (nginx master + workers). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // The process ended while we looked.
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return out;
}

/** User + system CPU seconds consumed so far by the given pids. */
export function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    if (!existsSync(`/proc/${pid}/stat`)) continue;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / CLK_TCK;
}

/** Resident set size and its peak (VmHWM), in MB, summed over the pids. */
export function rssMb(pids: number[]): { rss: number; peak: number } {
  let rss = 0;
  let peak = 0;
  for (const pid of pids) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      rss += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
      peak += Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    } catch {
      // Ended.
    }
  }
  return { rss, peak };
}

/**
 * Resets the peak RSS (`VmHWM`) of the pids to their current RSS (Linux `clear_refs` value 5), so
 * the next `rssMb().peak` is the peak of one measurement rather than of the process's whole life.
 */
export function resetPeakRss(pids: number[]): void {
  for (const pid of pids) {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      // Ended, or a kernel without it: the peak then covers the process's life.
    }
  }
}

export function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * What runs hookrelay in a checkout: bin/hookrelay.js (what `npm start` runs: dist/, the sources
 * with their types stripped once), or src/main.ts in a checkout from before it existed.
 */
export function relayEntry(root: string): string {
  const bin = join(root, 'bin/build.js');
  return existsSync(bin) ? join(root, 'bin/hookrelay.js') : join(root, 'src/main.ts');
}

/** What a scenario that starts its own relays gets from run.ts: the shared target, load and rounds. */
export interface ScenarioOptions {
  targetPort: number;
  token: string;
  bodyFile: string;
  work: string;
  children: ChildProcess[];
  seconds: number;
  warmup: number;
  rounds: number;
  connections: number;
}
