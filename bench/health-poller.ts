/**
 * Polls URL (a health endpoint) open-loop every EVERY ms until SIGTERM or MAX_SECONDS, each poll
 * measured from its *scheduled* time, so a stalled server is not hidden by the poller waiting
 * (no coordinated omission); every poll is bounded by TIMEOUT ms. A process of its own, so the
 * load next to it cannot delay the poller's own event loop, with its connections opened first. Prints one JSON line on exit: count,
 * errors (non-200 or no answer), p50, p99 and max in ms.
 */
import { Pool } from 'undici';

const url = new URL(process.env.URL ?? 'http://127.0.0.1:9/healthz');
const every = Number(process.env.EVERY ?? 20);
const maxSeconds = Number(process.env.MAX_SECONDS ?? 600);
const timeout = Number(process.env.TIMEOUT ?? 60_000);
const CONNECTIONS = 64;
const pool = new Pool(url.origin, {
  connections: CONNECTIONS,
  headersTimeout: timeout,
  bodyTimeout: timeout,
});

const latencies: number[] = [];
const polls: Promise<void>[] = [];
let errors = 0;
let polling = true;

function poll(scheduled: number): Promise<void> {
  return pool
    .request({ method: 'GET', path: url.pathname, signal: AbortSignal.timeout(timeout) })
    .then(async (res) => {
      await res.body.dump();
      if (res.statusCode !== 200) errors++;
    })
    .catch(() => {
      errors++;
    })
    .finally(() => {
      latencies.push(performance.now() - scheduled);
    });
}

let next = 0;
function tick(): void {
  const now = performance.now();
  while (polling && start + next * every <= now) {
    polls.push(poll(start + next * every));
    next++;
  }
  if (polling) setTimeout(tick, Math.max(1, start + next * every - performance.now()));
}

async function finish(): Promise<void> {
  if (!polling) return;
  polling = false;
  await Promise.all(polls);
  const sorted = [...latencies].sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
  process.stdout.write(
    `${JSON.stringify({ count: sorted.length, errors, p50: pct(50), p99: pct(99), max: sorted.at(-1) ?? 0 })}\n`,
  );
  await pool.close();
  process.exit(0);
}

process.on('SIGTERM', () => void finish());
setTimeout(() => void finish(), maxSeconds * 1000).unref();
// Every connection is opened before polling starts (not counted): a poll that finds them all busy
// would otherwise measure a new connection's setup on a loaded machine, not the server.
await Promise.all(
  Array.from({ length: CONNECTIONS }, () =>
    pool.request({ method: 'GET', path: url.pathname }).then((res) => res.body.dump()),
  ),
);
const start = performance.now();
tick();
