import { afterEach, describe, expect, it } from 'vitest';
import type { ErrorBody } from '../../src/pipeline/reply.ts';
import { type Relay, startRelay, startTarget, type Target } from '../helpers.ts';

/**
 * Retry-After (RFC 9110 §10.2.3) against a real downstream: the gap between the requests the
 * downstream receives shows the delay the relay waited. Bounds are generous: only lower bounds
 * that the header implies, and upper bounds far from what a wrong implementation would do.
 */
describe('Retry-After', () => {
  let target: Target;
  let relay: Relay;
  let times: number[];
  afterEach(async () => {
    await relay?.close();
    await target?.close();
  });

  /** First answer: `status` with `Retry-After: value`; afterwards 200. */
  async function setup(status: number, retryAfter: () => string, retry: string, timeouts = '{}') {
    times = [];
    target = await startTarget((_req, res, i) => {
      times.push(performance.now());
      if (i === 0) {
        res.statusCode = status;
        res.setHeader('retry-after', retryAfter());
        res.end('slow down');
        return;
      }
      res.setHeader('content-type', 'text/plain');
      res.end('thanks');
    });
    relay = await startRelay(`
routes:
  - id: ra
    path: /in/ra
    retry: ${retry}
    timeouts: ${timeouts}
    forward:
      url: ${target.url}/hook
`);
  }

  const post = () => fetch(`${relay.url}/in/ra`, { method: 'POST', body: 'payload' });
  const gap = () => times[1]! - times[0]!;

  it('delay-seconds: Retry-After: 1 with minDelay 10ms waits about a second', async () => {
    await setup(503, () => '1', '{ attempts: 3, minDelay: 10ms, maxDelay: 5s }');
    const res = await post();
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('thanks');
    expect(target.received).toHaveLength(2);
    expect(gap()).toBeGreaterThanOrEqual(900);
    expect(gap()).toBeLessThan(4_000);
  });

  it('HTTP-date: waits until the date', async () => {
    // HTTP-dates have one-second resolution: now + 2 s truncated is at least 1 s away.
    await setup(
      503,
      () => new Date(Date.now() + 2_000).toUTCString(),
      '{ attempts: 3, minDelay: 10ms, maxDelay: 5s }',
    );
    const res = await post();
    expect(res.status).toBe(200);
    expect(target.received).toHaveLength(2);
    expect(gap()).toBeGreaterThanOrEqual(900);
    expect(gap()).toBeLessThan(4_500);
  });

  it('is honoured on 429 too', async () => {
    await setup(429, () => '1', '{ attempts: 2, minDelay: 10ms, maxDelay: 5s }');
    const res = await post();
    expect(res.status).toBe(200);
    expect(gap()).toBeGreaterThanOrEqual(900);
  });

  it('is not capped by maxDelay: Retry-After: 1 with maxDelay 100ms waits about a second', async () => {
    await setup(503, () => '1', '{ attempts: 2, minDelay: 10ms, maxDelay: 100ms }');
    const res = await post();
    expect(res.status).toBe(200);
    expect(target.received).toHaveLength(2);
    expect(gap()).toBeGreaterThanOrEqual(900);
  });

  it('is capped by maxRetryAfter: Retry-After: 30 with maxRetryAfter 100ms retries after 100 ms', async () => {
    await setup(503, () => '30', '{ attempts: 2, minDelay: 10ms, maxDelay: 10ms, maxRetryAfter: 100ms }');
    const started = performance.now();
    const res = await post();
    expect(res.status).toBe(200);
    expect(target.received).toHaveLength(2);
    expect(gap()).toBeGreaterThanOrEqual(90);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('an HTTP-date in the past retries without waiting for backoff beyond the date', async () => {
    await setup(503, () => new Date(Date.now() - 60_000).toUTCString(), '{ attempts: 2, minDelay: 10ms }');
    const res = await post();
    expect(res.status).toBe(200);
    expect(target.received).toHaveLength(2);
    expect(gap()).toBeLessThan(2_000);
  });

  it('an unparseable value falls back to the backoff', async () => {
    await setup(503, () => 'soon-ish', '{ attempts: 2, minDelay: 10ms, maxDelay: 20ms, jitter: false }');
    const res = await post();
    expect(res.status).toBe(200);
    expect(gap()).toBeGreaterThanOrEqual(9);
    expect(gap()).toBeLessThan(2_000);
  });

  it('a Retry-After beyond the deadline gives up at once with 504 instead of sleeping past it', async () => {
    await setup(503, () => '5', '{ attempts: 3, minDelay: 10ms, maxDelay: 10s }', '{ deadline: 1s }');
    const started = performance.now();
    const res = await post();
    expect(res.status).toBe(504);
    expect((await res.json()) as ErrorBody).toMatchObject({
      error: 'HOOKRELAY_ERR_DEADLINE',
      route: 'ra',
      attempts: 1,
      lastError: 'target answered 503',
    });
    expect(target.received).toHaveLength(1);
    expect(performance.now() - started).toBeLessThan(4_000);
  });

  it('is ignored on a status that is not retried', async () => {
    await setup(400, () => '1', '{ attempts: 3, minDelay: 10ms, maxDelay: 5s }');
    const res = await post();
    expect(res.status).toBe(400);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(target.received).toHaveLength(1);
  });
});

/**
 * Queued retries have their own caps: `queue.maxDelay` for the backoff, `queue.maxRetryAfter` for
 * what the target asks for. The schedule is read from the store (the record's next attempt), so
 * nothing waits for the hour it may be.
 */
describe('Retry-After on a queued route', () => {
  let target: Target;
  let relay: Relay;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
  });

  async function scheduled(retryAfter: string, queue: string): Promise<number> {
    target = await startTarget((_req, res) => {
      res.statusCode = 429;
      res.setHeader('retry-after', retryAfter);
      res.end('slow down');
    });
    relay = await startRelay(`
queue: { driver: memory }
admin: { enabled: false }
routes:
  - id: qa
    path: /in/qa
    delivery: async
    forward:
      url: ${target.url}/hook
    queue: ${queue}
`);
    const res = await fetch(`${relay.url}/in/qa`, { method: 'POST', body: 'payload' });
    expect(res.status).toBe(202);
    const { deliveryId } = (await res.json()) as { deliveryId: string };
    const deadline = Date.now() + 10_000;
    for (;;) {
      const found = await relay.app.queue!.driver.get(deliveryId);
      const first = found?.attempts[0];
      if (found && first && found.record.status === 'pending') {
        return found.record.nextAttemptAt - (first.at + first.durationMs);
      }
      if (Date.now() > deadline) throw new Error('no attempt recorded');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('is honoured beyond queue.maxDelay, up to queue.maxRetryAfter (1 h by default)', async () => {
    const wait = await scheduled('600', '{ minDelay: 10ms, maxDelay: 100ms }');
    expect(wait).toBeGreaterThanOrEqual(599_000);
    // + 2 ms: the attempt's recorded duration is rounded to whole milliseconds.
    expect(wait).toBeLessThanOrEqual(600_002);
  });

  it('is capped by queue.maxRetryAfter', async () => {
    const wait = await scheduled('7200', '{ minDelay: 10ms, maxDelay: 100ms, maxRetryAfter: 2m }');
    expect(wait).toBeGreaterThanOrEqual(119_000);
    expect(wait).toBeLessThanOrEqual(120_002);
  });
});
