/**
 * Flood client for the xml-flood scenario: ROUNDS rounds of BODIES concurrent POSTs of BODY_FILE
 * to URL (each round starts when the last one has its answers); every request is bounded by
 * TIMEOUT ms. bench/health-poller.ts measures /healthz beside it. Prints one JSON line: the
 * requests' outcomes by status (`error` for no answer in time or a broken connection), their
 * p50/p99 and the seconds the rounds took.
 */
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';

const url = new URL(process.env.URL ?? 'http://127.0.0.1:9/');
const body = readFileSync(process.env.BODY_FILE ?? '/dev/null');
const contentType = process.env.CONTENT_TYPE ?? 'text/xml; charset=utf-8';
const bodies = Number(process.env.BODIES ?? 120);
const rounds = Number(process.env.ROUNDS ?? 3);
const timeout = Number(process.env.TIMEOUT ?? 60_000);

const floodPool = new Pool(url.origin, {
  connections: bodies,
  bodyTimeout: timeout,
  headersTimeout: timeout,
});

const outcomes: Record<string, number> = {};
const latencies: number[] = [];

async function post(): Promise<void> {
  const t0 = performance.now();
  let outcome = 'error';
  try {
    const res = await floodPool.request({
      method: 'POST',
      path: url.pathname,
      headers: { 'content-type': contentType },
      body,
      signal: AbortSignal.timeout(timeout),
    });
    await res.body.dump();
    outcome = String(res.statusCode);
  } catch {
    // No answer in time, or the connection broke: counted as `error`.
  }
  outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  latencies.push(performance.now() - t0);
}

const start = performance.now();
for (let round = 0; round < rounds; round++) {
  await Promise.all(Array.from({ length: bodies }, post));
}

const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};
process.stdout.write(
  `${JSON.stringify({
    seconds: (performance.now() - start) / 1000,
    requests: latencies.length,
    outcomes,
    p50: pct(latencies, 50),
    p99: pct(latencies, 99),
  })}\n`,
);
await floodPool.close();
