import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * `hookrelay start` as a real child process (`node bin/hookrelay.js start -c FILE`, so dist/ as users run it): its JSON log lines
 * parsed as they come, its exit awaited. With `ulimit`, it runs under `bash -c 'ulimit -n N && exec
 * node …'`, so it has at most N file descriptors (lowering needs no privilege; Node raises its soft
 * limit only up to the hard one, which `ulimit -n` lowers too).
 */

export const ROOT = resolve(import.meta.dirname, '../..');

export type Log = Record<string, unknown>;

export interface Child {
  process: ChildProcess;
  port: number;
  url: string;
  logs: Log[];
  stderr: () => string;
  /** Resolves with the first log line that satisfies `test` (already written or still to come). */
  waitForLog(test: (log: Log) => boolean, timeout?: number): Promise<Log>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

export interface ChildOptions {
  env?: Record<string, string>;
  /** Open-file limit (`ulimit -n`) the relay runs under. */
  ulimit?: number;
}

/** Tracks children and config files so `cleanup()` (call it in afterEach) kills and removes them. */
export function childProcesses() {
  const dir = mkdtempSync(join(tmpdir(), 'hookrelay-child-'));
  const children: ChildProcess[] = [];
  return {
    writeConfig(yaml: string): string {
      const file = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(file, yaml);
      return file;
    },
    async start(args: string[], options: ChildOptions = {}): Promise<Child> {
      const child = startChild(args, options);
      children.push(child.process);
      const listening = await child.waitForLog((log) => log.msg === 'hookrelay listening');
      const port = listening.port as number;
      return { ...child, port, url: `http://127.0.0.1:${port}` };
    },
    cleanup() {
      for (const child of children.splice(0))
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    removeDir() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What `npm start` runs: bin/hookrelay.js, which runs dist/ (built by the global setup). */
const ENTRY = 'bin/hookrelay.js';

function startChild(args: string[], options: ChildOptions): Omit<Child, 'port' | 'url'> {
  const { HOOKRELAY_CONFIG: _ignored, ...base } = process.env;
  const node = process.execPath;
  const child = options.ulimit
    ? spawn('bash', ['-c', `ulimit -n ${options.ulimit} && exec "$0" "$@"`, node, ENTRY, ...args], {
        cwd: ROOT,
        env: { ...base, ...options.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    : spawn(node, [ENTRY, ...args], {
        cwd: ROOT,
        env: { ...base, ...options.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
  const logs: Log[] = [];
  const waiters = new Set<() => void>();
  let buffered = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline !== -1) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf('\n');
      try {
        logs.push(JSON.parse(line) as Log);
      } catch {
        logs.push({ raw: line });
      }
    }
    for (const wake of waiters) wake();
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((done) => {
    child.once('exit', (code, signal) => {
      done({ code, signal, at: performance.now() });
      for (const wake of waiters) wake();
    });
  });
  const waitForLog = (test: (log: Log) => boolean, timeout = 10_000) =>
    new Promise<Log>((done, fail) => {
      const check = () => {
        const found = logs.find(test);
        if (found) {
          waiters.delete(check);
          clearTimeout(timer);
          done(found);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          waiters.delete(check);
          clearTimeout(timer);
          fail(new Error(`child exited (${child.exitCode ?? child.signalCode}) first; stderr: ${stderr}`));
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        fail(
          new Error(
            `no matching log line within ${timeout} ms; logs: ${JSON.stringify(logs)}; stderr: ${stderr}`,
          ),
        );
      }, timeout);
      waiters.add(check);
      check();
    });
  return { process: child, logs, stderr: () => stderr, waitForLog, exited };
}
