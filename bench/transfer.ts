/**
 * Large-body load client: moves BYTES-sized bodies through URL, CONCURRENCY at a time, until COUNT
 * transfers are done or SECONDS have passed (whichever first: always bounded). MODE=upload POSTs
 * the body (with Content-Length) and checks the target's `x-bytes` echo when it comes back;
 * MODE=download GETs and checks that BYTES arrived. Prints one JSON line: count, bytes, seconds,
 * mbps (MB = 2^20 bytes, as in the config's sizes; per second of wall time), non2xx, errors, and
 * p50 and p99 per transfer in ms.
 */
import { Agent, request } from 'node:http';

const url = new URL(process.env.URL ?? 'http://127.0.0.1:9/');
const mode = process.env.MODE === 'download' ? 'download' : 'upload';
const size = Number(process.env.BYTES ?? 10 * 1024 * 1024);
const maxCount = Number(process.env.COUNT ?? 100);
const concurrency = Number(process.env.CONCURRENCY ?? 4);
const seconds = Number(process.env.SECONDS ?? 10);
const authorization = process.env.AUTHORIZATION ?? '';
// Not all zeroes, so nothing on the way could shortcut it; the content itself does not matter.
const body = mode === 'upload' ? Buffer.alloc(size, 'hookrelay-bench-') : Buffer.alloc(0);
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });

const latencies: number[] = [];
let started = 0;
let bytes = 0;
let non2xx = 0;
let errors = 0;
const begin = performance.now();
const deadline = begin + seconds * 1000;

function once(): Promise<void> {
  const t0 = performance.now();
  return new Promise<void>((resolve) => {
    const headers: Record<string, string | number> = authorization ? { authorization } : {};
    if (mode === 'upload') {
      headers['content-type'] = 'application/octet-stream';
      headers['content-length'] = body.length;
    }
    const req = request(url, { method: mode === 'upload' ? 'POST' : 'GET', headers, agent }, (res) => {
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
      });
      res.on('error', () => {
        errors++;
        resolve();
      });
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) non2xx++;
        else if (mode === 'download' && received !== size) errors++;
        else if (
          mode === 'upload' &&
          res.headers['x-bytes'] !== undefined &&
          Number(res.headers['x-bytes']) !== size
        )
          errors++;
        else bytes += mode === 'upload' ? size : received;
        latencies.push(performance.now() - t0);
        resolve();
      });
    });
    req.setTimeout(60_000, () => req.destroy(new Error('timeout')));
    req.on('error', () => {
      errors++;
      resolve();
    });
    req.end(mode === 'upload' ? body : undefined);
  });
}

async function worker(): Promise<void> {
  while (started < maxCount && performance.now() < deadline) {
    started++;
    await once();
  }
}

await Promise.all(Array.from({ length: concurrency }, () => worker()));
const elapsed = (performance.now() - begin) / 1000;
const sorted = latencies.sort((a, b) => a - b);
const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
agent.destroy();
process.stdout.write(
  `${JSON.stringify({ count: latencies.length, bytes, seconds: elapsed, mbps: bytes / 1048576 / elapsed, non2xx, errors, p50: pct(50), p99: pct(99) })}\n`,
);
