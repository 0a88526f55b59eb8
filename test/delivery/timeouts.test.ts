import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { ErrorBody } from '../../src/pipeline/reply.ts';
import { type Relay, sample, startRelay, startTarget, type Target } from '../helpers.ts';

/** Per-attempt timeouts, the overall deadline, the response limit and callers that go away. */
describe('timeouts, deadline and limits', () => {
  let target: Target;
  let relay: Relay;
  const stalled: ServerResponse[] = [];
  afterEach(async () => {
    await relay?.close();
    await target?.close();
    stalled.length = 0;
  });

  async function setup(handler: Parameters<typeof startTarget>[0], route: string) {
    target = await startTarget(handler);
    relay = await startRelay(`
routes:
  - id: slow
    path: /in/slow
${route}
    forward:
      url: ${target.url}/hook
`);
  }

  const post = (signal?: AbortSignal) =>
    fetch(`${relay.url}/in/slow`, { method: 'POST', body: '{"a":1}', signal });

  /** Never answers: the response is held until the target closes its connections. */
  const stall = (_req: unknown, res: ServerResponse) => {
    stalled.push(res);
  };

  it('per-attempt timeout: a stalled first attempt is abandoned and retried', async () => {
    await setup(
      (_req, res, i) => {
        if (i === 0) return stall(_req, res);
        res.end('fast');
      },
      `    timeouts: { attempt: 200ms, deadline: 10s }
    retry: { attempts: 3, minDelay: 10ms, maxDelay: 20ms }`,
    );
    const res = await post();
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('fast');
    expect(target.received).toHaveLength(2);
    expect(relay.logs.find((l) => l.msg === 'request')).toMatchObject({ attempts: 2, status: 200 });
  });

  it('per-attempt timeouts on every attempt: 502 UPSTREAM_UNREACHABLE naming the timeout', async () => {
    await setup(
      stall,
      `    timeouts: { attempt: 100ms, deadline: 10s }
    retry: { attempts: 2, minDelay: 10ms, maxDelay: 20ms }`,
    );
    const res = await post();
    expect(res.status).toBe(502);
    expect((await res.json()) as ErrorBody).toMatchObject({
      error: 'HOOKRELAY_ERR_UPSTREAM_UNREACHABLE',
      route: 'slow',
      attempts: 2,
      lastError: 'attempt timed out after 100 ms',
    });
    expect(target.received).toHaveLength(2);
  });

  it('overall deadline: an always-stalling target gives 504 well before the stall ends', async () => {
    await setup(
      stall,
      `    timeouts: { attempt: 10s, deadline: 300ms }
    retry: { attempts: 5, minDelay: 10ms }`,
    );
    const started = performance.now();
    const res = await post();
    const elapsed = performance.now() - started;
    expect(res.status).toBe(504);
    const body = (await res.json()) as ErrorBody;
    expect(body).toMatchObject({ error: 'HOOKRELAY_ERR_DEADLINE', status: 504, route: 'slow', attempts: 1 });
    expect(typeof body.requestId).toBe('string');
    expect(body.message).toContain('300 ms');
    // Whichever timer fires first, the last error is readable and in whole milliseconds.
    expect(body.lastError).toMatch(/^(attempt timed out after \d+ ms|no answer within the 300 ms deadline)$/);
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(5_000);
  });

  it('overall deadline bounds retries of short attempts too', async () => {
    await setup(
      stall,
      `    timeouts: { attempt: 100ms, deadline: 450ms }
    retry: { attempts: 50, minDelay: 10ms, maxDelay: 20ms }`,
    );
    const started = performance.now();
    const res = await post();
    expect(res.status).toBe(504);
    const body = (await res.json()) as ErrorBody;
    expect(body.error).toBe('HOOKRELAY_ERR_DEADLINE');
    expect(body.attempts).toBeGreaterThanOrEqual(2);
    expect(body.attempts).toBeLessThan(50);
    // An attempt the deadline stopped before it reached the target is neither counted nor a retry.
    expect(body.attempts).toBe(target.received.length);
    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    expect(sample(metrics, 'hookrelay_forward_retries_total', { route: 'slow' })).toBe(body.attempts! - 1);
    expect(body.lastError).toMatch(/^(attempt timed out after \d+ ms|no answer within the 450 ms deadline)$/);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('a 2xx larger than limits.response is delivered, not retried: 200 DELIVERED_RESPONSE_TOO_LARGE', async () => {
    // More cases (refusals, retryable statuses, hybrid) in large-response.test.ts.
    await setup(
      (_req, res) => void res.end(Buffer.alloc(4096, 'a')),
      `    limits: { response: 1kb }
    retry: { attempts: 3, minDelay: 10ms }`,
    );
    const res = await post();
    expect(res.status).toBe(200);
    expect((await res.json()) as ErrorBody).toMatchObject({
      error: 'HOOKRELAY_ERR_DELIVERED_RESPONSE_TOO_LARGE',
      route: 'slow',
    });
    expect(target.received).toHaveLength(1);
  });

  it('a response of exactly limits.response bytes is relayed', async () => {
    await setup((_req, res) => void res.end(Buffer.alloc(1024, 'b')), '    limits: { response: 1kb }');
    const res = await post();
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(1024);
  });

  it('a caller that disconnects mid-delivery does not crash the relay or trigger retries', async () => {
    await setup(
      (_req, res, i) => {
        if (i === 0) return stall(_req, res);
        res.end('second');
      },
      `    timeouts: { attempt: 5s, deadline: 10s }
    retry: { attempts: 3, minDelay: 10ms }`,
    );
    const controller = new AbortController();
    const pending = post(controller.signal);
    while (target.received.length === 0) await sleep(10);
    controller.abort();
    await expect(pending).rejects.toThrow();
    // The relay notices, gives up on that delivery and logs it; it does not retry for nobody.
    for (let i = 0; i < 200 && !relay.logs.some((l) => l.msg === 'request'); i++) await sleep(10);
    const line = relay.logs.find((l) => l.msg === 'request');
    expect(line).toMatchObject({ route: 'slow', attempts: 1, result: 'aborted' });
    expect(target.received).toHaveLength(1);

    const next = await post();
    expect(next.status).toBe(200);
    expect(await next.text()).toBe('second');
    const health = await fetch(`${relay.url}/healthz`);
    expect(health.status).toBe(200);
  });
});
