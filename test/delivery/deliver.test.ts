import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { Clients } from '../../src/delivery/client.ts';
import { type DeliveryJob, deliver } from '../../src/delivery/deliver.ts';
import { type RetryPolicy, statusMatcher } from '../../src/delivery/policy.ts';
import { createMetrics, type Metrics } from '../../src/telemetry/metrics.ts';
import { refusedPort, sample, startTarget, type Target, type TargetHandler } from '../helpers.ts';

/**
 * The synchronous loop called directly, as the sync and hybrid modes call it: outcome, attempts,
 * error codes and metrics for each way a delivery ends, against real targets.
 */
describe('deliver (the synchronous loop)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  const stalled: ServerResponse[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    cleanups.length = 0;
    stalled.length = 0;
  });

  async function target(handler: TargetHandler): Promise<Target> {
    const t = await startTarget(handler);
    cleanups.push(() => t.close());
    return t;
  }

  const clients = () => {
    const c = new Clients();
    cleanups.push(() => c.close());
    return c;
  };

  function job(
    url: string,
    retry: Partial<Omit<RetryPolicy, 'retryOn'>> = {},
    extra: Partial<DeliveryJob> = {},
  ): DeliveryJob {
    const target = new URL(url);
    return {
      routeId: 'r',
      pool: clients().get(target.origin, 1_000),
      request: {
        method: 'POST',
        url: target,
        headers: { 'content-type': 'text/plain' },
        body: Buffer.from('x'),
      },
      presentation: { auth: undefined, sign: [], followRedirects: 0 },
      id: 'req-1',
      retry: {
        attempts: 3,
        minDelay: 10,
        maxDelay: 20,
        maxRetryAfter: 10_000,
        factor: 2,
        jitter: false,
        ...retry,
        retryOn: statusMatcher([408, 429, '5xx']),
      },
      timeouts: { attempt: 5_000, deadline: 10_000 },
      responseLimit: 1024 * 1024,
      ...extra,
    };
  }

  const answers =
    (statuses: number[], headers: Record<string, string> = {}): TargetHandler =>
    (_req, res, i) => {
      res.statusCode = statuses[Math.min(i, statuses.length - 1)]!;
      for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
      res.end(`answer ${i}`);
    };

  async function counts(metrics: Metrics) {
    const text = await metrics.registry.metrics();
    const value = (name: string, labels: Record<string, string> = {}) =>
      sample(text, name, { route: 'r', ...labels }) ?? 0;
    return {
      attempts2xx: value('hookrelay_forward_attempts_total', { outcome: '2xx' }),
      attempts5xx: value('hookrelay_forward_attempts_total', { outcome: '5xx' }),
      timeouts: value('hookrelay_forward_attempts_total', { outcome: 'timeout' }),
      retries: value('hookrelay_forward_retries_total'),
      delivered: value('hookrelay_deliveries_total', { result: 'delivered' }),
      rejected: value('hookrelay_deliveries_total', { result: 'rejected' }),
      failed: value('hookrelay_deliveries_total', { result: 'failed' }),
      deadline: value('hookrelay_deliveries_total', { result: 'deadline' }),
    };
  }

  const metrics = () => createMetrics({ version: 'test', defaultMetrics: false });

  it('delivered on the first attempt: one attempt, no retry', async () => {
    const t = await target(answers([200]));
    const m = metrics();
    const outcome = await deliver(job(`${t.url}/hook`), m);
    expect(outcome).toMatchObject({ result: 'delivered', attempts: 1, error: undefined });
    expect(outcome.response?.body.toString()).toBe('answer 0');
    expect(await counts(m)).toMatchObject({ attempts2xx: 1, retries: 0, delivered: 1 });
  });

  it('503, 503, 200: delivered on the third attempt, two retries counted', async () => {
    const t = await target(answers([503, 503, 200]));
    const m = metrics();
    const outcome = await deliver(job(`${t.url}/hook`), m);
    expect(outcome).toMatchObject({ result: 'delivered', attempts: 3 });
    expect(await counts(m)).toMatchObject({ attempts5xx: 2, attempts2xx: 1, retries: 2, delivered: 1 });
  });

  it('a refusal ends at once: rejected with the answer, no error', async () => {
    const t = await target(answers([422]));
    const m = metrics();
    const outcome = await deliver(job(`${t.url}/hook`), m);
    expect(outcome).toMatchObject({ result: 'rejected', attempts: 1, error: undefined });
    expect(outcome.response?.status).toBe(422);
    expect(await counts(m)).toMatchObject({ rejected: 1, retries: 0 });
    expect(t.received).toHaveLength(1);
  });

  it('out of attempts with an answer: failed, UPSTREAM_FAILED, the last answer kept', async () => {
    const t = await target(answers([500, 503]));
    const m = metrics();
    const outcome = await deliver(job(`${t.url}/hook`, { attempts: 2 }), m);
    expect(outcome).toMatchObject({ result: 'failed', attempts: 2 });
    expect(outcome.response?.status).toBe(503);
    expect(outcome.error?.code).toBe('HOOKRELAY_ERR_UPSTREAM_FAILED');
    expect(outcome.error?.params).toMatchObject({ attempts: 2, reason: 'target answered 503' });
    expect(await counts(m)).toMatchObject({ failed: 1, retries: 1 });
  });

  it('out of attempts without an answer: failed, UPSTREAM_UNREACHABLE', async () => {
    const port = await refusedPort();
    const outcome = await deliver(job(`http://127.0.0.1:${port}/hook`, { attempts: 2 }), metrics());
    expect(outcome).toMatchObject({ result: 'failed', attempts: 2, response: undefined });
    expect(outcome.error?.code).toBe('HOOKRELAY_ERR_UPSTREAM_UNREACHABLE');
    expect(outcome.error?.message).toContain('ECONNREFUSED');
  });

  it('a Retry-After beyond the deadline ends at once: deadline, DEADLINE naming the last answer', async () => {
    const t = await target(answers([503], { 'retry-after': '60' }));
    const m = metrics();
    const outcome = await deliver(
      job(`${t.url}/hook`, { maxRetryAfter: 3_600_000 }, { timeouts: { attempt: 5_000, deadline: 10_000 } }),
      m,
    );
    expect(outcome).toMatchObject({ result: 'deadline', attempts: 1 });
    expect(outcome.error?.code).toBe('HOOKRELAY_ERR_DEADLINE');
    expect(outcome.error?.params).toMatchObject({ deadline: 10_000, reason: 'target answered 503' });
    expect(await counts(m)).toMatchObject({ deadline: 1, retries: 0 });
    expect(t.received).toHaveLength(1);
  });

  it('the last attempt cut short by the deadline is a deadline, not a failure', async () => {
    const t = await target((_req, res) => void stalled.push(res));
    const m = metrics();
    const outcome = await deliver(
      job(`${t.url}/hook`, { attempts: 1 }, { timeouts: { attempt: 5_000, deadline: 200 } }),
      m,
    );
    expect(outcome).toMatchObject({ result: 'deadline', attempts: 1, response: undefined });
    expect(outcome.error?.code).toBe('HOOKRELAY_ERR_DEADLINE');
    expect(outcome.error?.params).toMatchObject({ reason: 'no answer within the 200 ms deadline' });
    expect(await counts(m)).toMatchObject({ timeouts: 1, deadline: 1 });
  });

  it('a caller gone before the first attempt: aborted, nothing sent, nothing counted', async () => {
    const t = await target(answers([200]));
    const m = metrics();
    const gone = new AbortController();
    gone.abort();
    const outcome = await deliver(job(`${t.url}/hook`, {}, { signal: gone.signal }), m);
    expect(outcome).toMatchObject({ result: 'aborted', attempts: 0 });
    expect(outcome.error?.code).toBe('HOOKRELAY_ERR_CLIENT_CLOSED');
    expect(t.received).toHaveLength(0);
    expect(await counts(m)).toMatchObject({ delivered: 0, failed: 0, deadline: 0, retries: 0 });
  });

  it('a caller gone during the wait for a retry: aborted, no further attempt', async () => {
    const gone = new AbortController();
    const t = await target((_req, res) => {
      res.statusCode = 503;
      res.setHeader('retry-after', '5');
      res.end('busy');
    });
    const pending = deliver(job(`${t.url}/hook`, {}, { signal: gone.signal }), metrics());
    while (t.received.length === 0) await sleep(5);
    gone.abort();
    const outcome = await pending;
    expect(outcome).toMatchObject({ result: 'aborted', attempts: 1 });
    expect(outcome.error?.code).toBe('HOOKRELAY_ERR_CLIENT_CLOSED');
    expect(t.received).toHaveLength(1);
  });
});
