/**
 * Open-loop fixed-rate client: sends RATE requests per second for SECONDS and measures each
 * latency from its *scheduled* send time, so a stall is not hidden by the client waiting
 * (coordinated omission). Prints one JSON line: count, errors, non2xx, p50, p99 in ms.
 */
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';

const url = new URL(process.env.URL ?? 'http://127.0.0.1:9/');
const rate = Number(process.env.RATE ?? 1000);
const seconds = Number(process.env.SECONDS ?? 5);
const body = readFileSync(process.env.BODY_FILE ?? '/dev/null');
const contentType = process.env.CONTENT_TYPE ?? 'application/json';
const authorization = process.env.AUTHORIZATION ?? '';
const pool = new Pool(url.origin, { connections: 64 });

// The first second opens connections and warms the JIT on both sides: sent, but not counted.
const warmup = Math.round(rate * Number(process.env.WARMUP_SECONDS ?? 1));
const total = Math.round(rate * seconds) + warmup;
const latencies = new Float64Array(total);
let done = 0;
let errors = 0;
let non2xx = 0;
const start = performance.now();

function send(i: number, scheduled: number): void {
  pool
    .request({
      method: 'POST',
      path: url.pathname,
      headers: authorization
        ? { 'content-type': contentType, authorization }
        : { 'content-type': contentType },
      body,
    })
    .then(async (res) => {
      await res.body.dump();
      if (res.statusCode < 200 || res.statusCode >= 300) non2xx++;
    })
    .catch(() => {
      errors++;
    })
    .finally(() => {
      latencies[i] = performance.now() - scheduled;
      done++;
      if (done === total) finish();
    });
}

let next = 0;
function tick(): void {
  const now = performance.now();
  while (next < total && start + (next * 1000) / rate <= now) {
    send(next, start + (next * 1000) / rate);
    next++;
  }
  if (next < total) setTimeout(tick, 1);
}

function finish(): void {
  const sorted = Array.from(latencies.subarray(warmup)).sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
  process.stdout.write(
    `${JSON.stringify({ count: total - warmup, errors, non2xx, p50: pct(50), p99: pct(99) })}\n`,
  );
  void pool.close().then(() => process.exit(0));
}

tick();
