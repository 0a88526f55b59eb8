/** The fixed-rate latency run and the soak mode. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CORES, HAS_TASKSET, rssMb } from './lib.ts';
import { runWrk } from './wrk.ts';

export interface RateResult {
  count: number;
  errors: number;
  non2xx: number;
  p50: number;
  p99: number;
}

const RATE_SCRIPT = fileURLToPath(new URL('./rate.ts', import.meta.url));
const SQLITE_SCRIPT = fileURLToPath(new URL('./sqlite-baseline.ts', import.meta.url));

/** One fsync'd transaction per request, pinned to the systems' core (bench/sqlite-baseline.ts). */
export function sqliteBaseline(seconds: number): Promise<{ tps: number; transactions: number }> {
  const pinned = HAS_TASKSET && CORES > 1;
  const args = [SQLITE_SCRIPT];
  return new Promise((resolve, reject) => {
    execFile(
      pinned ? 'taskset' : process.execPath,
      pinned ? ['-c', '1', process.execPath, ...args] : args,
      { env: { ...process.env, SECONDS: String(seconds) }, timeout: (seconds + 30) * 1000 },
      (error, stdout) => {
        if (error) reject(error);
        else resolve(JSON.parse(stdout.trim().split('\n').pop()!) as { tps: number; transactions: number });
      },
    );
  });
}

/** Open-loop fixed-rate load from bench/rate.ts, pinned to the load generator's core. */
export function fixedRate(
  url: string,
  rate: number,
  seconds: number,
  bodyFile: string,
  contentType: string,
  authorization: string,
): Promise<RateResult> {
  const pinned = HAS_TASKSET && CORES > 1;
  const args = [RATE_SCRIPT];
  return new Promise((resolve, reject) => {
    execFile(
      pinned ? 'taskset' : process.execPath,
      pinned ? ['-c', '0', process.execPath, ...args] : args,
      {
        env: {
          ...process.env,
          URL: url,
          RATE: String(rate),
          SECONDS: String(seconds),
          BODY_FILE: bodyFile,
          CONTENT_TYPE: contentType,
          AUTHORIZATION: authorization,
        },
        timeout: (seconds + 30) * 1000,
      },
      (error, stdout) => {
        if (error) reject(error);
        else resolve(JSON.parse(stdout.trim().split('\n').pop()!) as RateResult);
      },
    );
  });
}

async function scrape(metricsUrl: string): Promise<{ requests: number; heapMb: number }> {
  const text = await (await fetch(metricsUrl)).text();
  let requests = 0;
  let heap = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('hookrelay_requests_total{'))
      requests += Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith('nodejs_heap_size_used_bytes ')) heap = Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return { requests, heapMb: heap / 1024 / 1024 };
}

/**
 * Drives hookrelay until BENCH_SOAK_REQUESTS (1 M) requests have passed, and compares RSS and heap
 * after the first 10 % with the end: a leak shows as growth between the two.
 */
export async function soak(options: {
  url: string;
  pids: () => number[];
  bodyFile: string;
  smoke: boolean;
}): Promise<number> {
  const total = Number(process.env.BENCH_SOAK_REQUESTS ?? (options.smoke ? 20_000 : 1_000_000));
  const checkpoint = Math.round(total / 10);
  const metricsUrl = `${new URL(options.url).origin}/metrics`;
  const deadline = Date.now() + Number(process.env.BENCH_SOAK_MAX_SECONDS ?? 1800) * 1000;
  let early: { requests: number; rss: number; heapMb: number } | undefined;
  let half: { requests: number; rss: number; heapMb: number } | undefined;
  let state = await scrape(metricsUrl);
  while (state.requests < total && Date.now() < deadline) {
    await runWrk(options.url, 5, 32, options.bodyFile, 'application/json');
    state = await scrape(metricsUrl);
    if (!early && state.requests >= checkpoint) {
      early = { requests: state.requests, rss: rssMb(options.pids()).rss, heapMb: state.heapMb };
    }
    process.stdout.write(
      `  soak: ${state.requests} requests, RSS ${rssMb(options.pids()).rss.toFixed(0)} MB\n`,
    );
  }
  const end = { requests: state.requests, rss: rssMb(options.pids()).rss, heapMb: state.heapMb };
  if (!early) throw new Error('soak ended before the first checkpoint');
  process.stdout.write(
    `\nsoak: after ${early.requests} requests RSS ${early.rss.toFixed(1)} MB heap ${early.heapMb.toFixed(1)} MB; ` +
      `after ${end.requests} RSS ${end.rss.toFixed(1)} MB heap ${end.heapMb.toFixed(1)} MB; ` +
      `RSS ratio ${(end.rss / early.rss).toFixed(2)}, heap ratio ${(end.heapMb / early.heapMb).toFixed(2)}\n`,
  );
  if (half) {
    // Growth that continues through the second half is a leak; growth that stops is V8 settling.
    process.stdout.write(
      `soak: second half (${half.requests} → ${end.requests} requests): RSS ${half.rss.toFixed(1)} → ${end.rss.toFixed(1)} MB ` +
        `(ratio ${(end.rss / half.rss).toFixed(2)})\n`,
    );
  }
  return end.requests >= total ? 0 : 1;
}
