/**
 * `delivery: async` (src/modes/async/): its keys (`queue`, `dedup`) and rules, its compiled route,
 * and handle() on real HTTP: the call is offered to the queue, ready to send, and acknowledged at
 * once; the target is never called by the mode itself.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AsyncRoute } from '../../src/modes/async/index.ts';
import { asyncMode } from '../../src/modes/async/index.ts';
import { QUEUED_KEYS, ROUTE_QUEUE_DEFAULTS } from '../../src/modes/async/schema.ts';
import { sample, startTarget, type Target } from '../helpers.ts';
import {
  compile,
  configErrors,
  issuesOf,
  oneRoute,
  recordingQueue,
  requestLines,
  type Seam,
  startSeam,
} from './support.ts';

let target: Target | undefined;
let seam: Seam | undefined;
afterEach(async () => {
  await seam?.close();
  await target?.close();
  seam = target = undefined;
});

const ASYNC = 'does not apply to `delivery: async`';

describe('async: keys and rules', () => {
  it('owns `queue` and `dedup` and is queued', () => {
    expect(asyncMode.keys).toBe(QUEUED_KEYS);
    expect(Object.keys(asyncMode.keys).sort()).toEqual(['dedup', 'queue']);
    expect(asyncMode.queued).toBe(true);
  });

  it('a route with queue settings and one dedup source passes', () => {
    expect(issuesOf('async', { queue: { maxAttempts: 3 }, dedup: { header: 'X-Id' } })).toEqual([]);
  });

  it.each([
    [{ retry: { attempts: 5 } }, `retry.attempts: ${ASYNC}`],
    [{ retry: { minDelay: 1 } }, `retry.minDelay: ${ASYNC}`],
    [{ retry: { maxDelay: 1 } }, `retry.maxDelay: ${ASYNC}`],
    [{ retry: { maxRetryAfter: 1 } }, `retry.maxRetryAfter: ${ASYNC}`],
    [{ timeouts: { deadline: 1 } }, `timeouts.deadline: ${ASYNC}`],
    [{ response: { transform: [] } }, `response: ${ASYNC}`],
    [{ hybrid: {} }, 'hybrid: only applies to `delivery: hybrid`'],
    [{ stream: {} }, 'stream: only applies to `delivery: stream`'],
    [{ dedup: { header: 'X-Id', field: 'id' } }, 'dedup: needs exactly one of `header` or `field`'],
    [{ dedup: { window: 1 } }, 'dedup: needs exactly one of `header` or `field`'],
  ])('refuses %j', (route, message) => {
    const issues = issuesOf('async', route);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toContain(message);
  });

  it('retry keys the queue still uses are allowed (factor, jitter, retryOn)', () => {
    expect(issuesOf('async', { retry: { factor: 3, jitter: false, retryOn: [503] } })).toEqual([]);
  });

  it('the loader reports the refusal with what to use instead', () => {
    expect(configErrors(oneRoute('async', 'https://x.example/h', '    retry: { attempts: 5 }'))).toEqual([
      expect.stringMatching(/^routes\[0\]\.retry\.attempts: does not apply .*use `queue\.maxAttempts`/),
    ]);
  });
});

describe('async: compile', () => {
  it('fills the queue defaults for a route without a queue block', () => {
    const [route] = compile(oneRoute('async', 'https://x.example/h')) as [AsyncRoute];
    expect(route.delivery).toBe('async');
    expect(route.queue).toEqual(ROUTE_QUEUE_DEFAULTS);
    expect(route.dedup).toBeUndefined();
  });

  it('keeps the queue settings written and compiles dedup (header in lower case)', () => {
    const [route] = compile(
      oneRoute(
        'async',
        'https://x.example/h',
        '    queue: { maxAttempts: 7, minDelay: 2s }',
        '    dedup: { header: X-Event-Id, window: 1h }',
      ),
    ) as [AsyncRoute];
    expect(route.queue).toMatchObject({
      maxAttempts: 7,
      minDelay: 2_000,
      maxDelay: ROUTE_QUEUE_DEFAULTS.maxDelay,
    });
    expect(route.dedup).toMatchObject({ header: 'x-event-id', windowMs: 3_600_000 });
  });
});

describe('async: handle() on real HTTP', () => {
  it('offers the prepared request to the queue, rings the workers, answers 202; the target is not called', async () => {
    target = await startTarget();
    const queue = recordingQueue();
    seam = await startSeam(oneRoute('async', `${target.url}/hook`), { modes: ['async'], queue });
    const before = Date.now();
    const res = await fetch(`${seam.url}/in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    const after = Date.now();
    expect(res.status).toBe(202);
    const answer = (await res.json()) as Record<string, unknown>;
    expect(answer).toMatchObject({ status: 'accepted', route: 'r', duplicate: false });
    expect(queue.offered).toHaveLength(1);
    const delivery = queue.offered[0]!;
    expect(answer.deliveryId).toBe(delivery.id);
    expect(res.headers.get('x-hookrelay-delivery')).toBe(delivery.id);
    expect(delivery).toMatchObject({ routeId: 'r', attempts: 0 });
    expect(delivery.nextAttemptAt).toBe(delivery.createdAt);
    expect(delivery.createdAt).toBeGreaterThanOrEqual(before);
    expect(delivery.createdAt).toBeLessThanOrEqual(after);
    expect(queue.notified).toEqual(['r']);
    expect(target.received).toHaveLength(0);
    await seam.idle();
    expect(requestLines(seam.logs)).toEqual([
      expect.objectContaining({ status: 202, result: 'queued', deliveryId: delivery.id }),
    ]);
  });

  it('a full queue: 503 QUEUE_FULL with Retry-After, nothing acknowledged, workers not rung', async () => {
    const queue = recordingQueue({ kind: 'full', scope: 'route', limit: '1 deliveries' });
    seam = await startSeam(oneRoute('async', 'http://127.0.0.1:9/hook'), { modes: ['async'], queue });
    const res = await fetch(`${seam.url}/in`, { method: 'POST', body: 'x' });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('10');
    expect(((await res.json()) as { error: string }).error).toBe('HOOKRELAY_ERR_QUEUE_FULL');
    expect(queue.notified).toEqual([]);
    const metrics = await seam.metrics.registry.metrics();
    expect(sample(metrics, 'hookrelay_queue_enqueued_total', { route: 'r', result: 'full' })).toBe(1);
  });

  it('a duplicate is answered as the first acceptance, with its id', async () => {
    const queue = recordingQueue({ kind: 'duplicate', existingId: 'first-id' });
    seam = await startSeam(
      oneRoute('async', 'http://127.0.0.1:9/hook', '    dedup: { header: X-Event-Id }'),
      {
        modes: ['async'],
        queue,
      },
    );
    const res = await fetch(`${seam.url}/in`, { method: 'POST', headers: { 'x-event-id': 'e1' }, body: 'x' });
    expect(res.status).toBe(202);
    expect(res.headers.get('x-hookrelay-duplicate')).toBe('true');
    expect(((await res.json()) as { deliveryId: string }).deliveryId).toBe('first-id');
    expect(queue.offered[0]!.dedup).toMatchObject({ key: expect.stringContaining('e1') });
  });

  it('without a running queue the call fails (500), it is not silently dropped', async () => {
    seam = await startSeam(oneRoute('async', 'http://127.0.0.1:9/hook'), { modes: ['async'] });
    const res = await fetch(`${seam.url}/in`, { method: 'POST', body: 'x' });
    expect(res.status).toBe(500);
  });
});
