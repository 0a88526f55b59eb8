/** Runs wrk pinned to core 0 and parses its report. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CORES, HAS_TASKSET } from './lib.ts';

export interface WrkResult {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  socketErrors: number;
}

const LUA = fileURLToPath(new URL('./post.lua', import.meta.url));

function toMs(value: string, unit: string): number {
  const n = Number(value);
  if (unit === 'us') return n / 1000;
  if (unit === 's') return n * 1000;
  return n;
}

export function parseWrk(output: string): WrkResult {
  const latency = (pct: string) => {
    const m = new RegExp(`^\\s*${pct}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(output);
    return m ? toMs(m[1]!, m[2]!) : Number.NaN;
  };
  const requests = Number(/(\d+) requests in/.exec(output)?.[1] ?? 0);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const socketErrors = socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  return { requests, rps, p50: latency('50'), p99: latency('99'), non2xx, socketErrors };
}

export function runWrk(
  url: string,
  seconds: number,
  connections: number,
  bodyFile: string,
  contentType: string,
  authorization = '',
): Promise<WrkResult> {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', LUA, url];
  const pinned = HAS_TASKSET && CORES > 1;
  return new Promise((resolve, reject) => {
    execFile(
      pinned ? 'taskset' : 'wrk',
      pinned ? ['-c', '0', 'wrk', ...args] : args,
      {
        env: { ...process.env, BODY_FILE: bodyFile, CONTENT_TYPE: contentType, AUTHORIZATION: authorization },
        timeout: (seconds + 30) * 1000,
      },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`wrk failed: ${error.message}\n${stderr}`));
        else resolve(parseWrk(stdout));
      },
    );
  });
}
