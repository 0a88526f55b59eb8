/**
 * `delivery: hybrid` (src/modes/hybrid/): sync within `hybrid.budget`, then async. Its keys (its
 * own `hybrid`, and async's `queue` and `dedup`, the same schemas), its rules, its compiled route,
 * and handle() on real HTTP: delivered in time it answers as sync; a retryable failure is handed to
 * the queue with the attempts made, its first queued attempt scheduled as a worker would schedule
 * it (queue.minDelay × factor^(attempts − 1), capped by queue.maxDelay).
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { TargetResponse } from '../../src/delivery/attempt.ts';
import { firstQueuedAttemptAt } from '../../src/delivery/policy.ts';
import { asyncMode } from '../../src/modes/async/index.ts';
import { workerRoute } from '../../src/modes/async/worker-route.ts';
import { type HybridRoute, hybridMode } from '../../src/modes/hybrid/index.ts';
import { MODE_KEYS } from '../../src/modes/index.ts';
import { decide } from '../../src/queue/outcome.ts';
import type { DeliveryRecord } from '../../src/queue/types.ts';
import { startTarget, type Target } from '../helpers.ts';
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

describe('hybrid: keys and rules', () => {
  it('owns `hybrid` and shares `queue` and `dedup` with async, the same schemas', () => {
    expect(Object.keys(hybridMode.keys).sort()).toEqual(['dedup', 'hybrid', 'queue']);
    expect(hybridMode.keys.queue).toBe(asyncMode.keys.queue);
    expect(hybridMode.keys.dedup).toBe(asyncMode.keys.dedup);
    expect(MODE_KEYS.hybrid).toBe(hybridMode.keys.hybrid);
    expect(hybridMode.queued).toBe(true);
  });

  it('a route with the synchronous retry keys, queue settings and a budget passes', () => {
    expect(
      issuesOf('hybrid', {
        retry: { attempts: 2, minDelay: 10 },
        queue: { minDelay: 1 },
        hybrid: { budget: 1 },
      }),
    ).toEqual([]);
  });

  it.each([
    [{ timeouts: { deadline: 1 } }, 'timeouts.deadline: does not apply to `delivery: hybrid`'],
    [{ stream: {} }, 'stream: only applies to `delivery: stream`'],
    [{ dedup: { header: 'X-Id', field: 'id' } }, 'dedup: needs exactly one of `header` or `field`'],
  ])('refuses %j', (route, message) => {
    const issues = issuesOf('hybrid', route);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toContain(message);
  });

  it('the loader says to use the budget instead of a deadline; `hybrid` on another mode is refused', () => {
    expect(configErrors(oneRoute('hybrid', 'https://x.example/h', '    timeouts: { deadline: 5s }'))).toEqual(
      [expect.stringMatching(/^routes\[0\]\.timeouts\.deadline: .*use that/)],
    );
    expect(configErrors(oneRoute('async', 'https://x.example/h', '    hybrid: { budget: 1s }'))).toEqual([
      'routes[0].hybrid: only applies to `delivery: hybrid`',
    ]);
  });
});

describe('hybrid: compile', () => {
  it('composes the answering (sync) and queued (async) parts, budget 3 s by default', () => {
    const [route] = compile(oneRoute('hybrid', 'https://x.example/h')) as [HybridRoute];
    expect(route.delivery).toBe('hybrid');
    expect(route.hybridBudget).toBe(3_000);
    expect(route.responseTransform).toEqual([]);
    expect(route.queue.maxAttempts).toBeGreaterThan(0);
    expect(route.retry.attempts).toBeGreaterThan(0);
  });

  it('keeps the budget written', () => {
    const [route] = compile(oneRoute('hybrid', 'https://x.example/h', '    hybrid: { budget: 750ms }')) as [
      HybridRoute,
    ];
    expect(route.hybridBudget).toBe(750);
  });
});

describe('hybrid: the hand-off is scheduled as a worker schedules its retry', () => {
  it('the first queued attempt is due when a worker would retry after the same failed attempt', () => {
    fc.assert(
      fc.property(
        fc.record({
          attempts: fc.integer({ min: 1, max: 8 }),
          minDelay: fc.integer({ min: 1, max: 60 }),
          maxDelay: fc.integer({ min: 60, max: 600 }),
          factor: fc.integer({ min: 1, max: 4 }),
          jitter: fc.boolean(),
          status: fc.constantFrom(429, 500, 503),
          retryAfter: fc.option(fc.integer({ min: 0, max: 7_200 }), { nil: undefined }),
          random: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        }),
        (c) => {
          const [route] = compile(
            oneRoute(
              'hybrid',
              'https://x.example/h',
              `    retry: { factor: ${c.factor}, jitter: ${c.jitter} }`,
              `    queue: { minDelay: ${c.minDelay}s, maxDelay: ${c.maxDelay}s, maxAttempts: 100 }`,
            ),
          ) as [HybridRoute];
          const response: TargetResponse = {
            status: c.status,
            headers: c.retryAfter === undefined ? {} : { 'retry-after': String(c.retryAfter) },
            body: Buffer.alloc(0),
          };
          const now = 1_700_000_000_000;
          const clock = { now, random: () => c.random };
          const handOff = firstQueuedAttemptAt(
            route,
            { attempts: c.attempts, response, error: undefined },
            clock,
          );
          // A worker that had made the same attempts, the last one answered alike, just now.
          const record = {
            attempts: c.attempts - 1,
            createdAt: now,
            replayedAt: undefined,
          } as DeliveryRecord;
          const decision = decide(record, response, workerRoute(route), now, clock.random);
          expect(decision).toMatchObject({ kind: 'retry', nextAttemptAt: handOff });
          expect(handOff - now).toBeGreaterThanOrEqual(c.retryAfter === undefined && c.jitter ? 500 : 0);
          if (c.retryAfter === undefined) expect(handOff - now).toBeLessThanOrEqual(c.maxDelay * 1000);
        },
      ),
      { numRuns: 200 },
    );
  });
});

/** A hybrid route toward `url` with fixed (unjittered) backoffs. */
const hybridRoute = (url: string, attempts: number) =>
  oneRoute(
    'hybrid',
    url,
    `    retry: { attempts: ${attempts}, minDelay: 10ms, factor: 2, jitter: false }`,
    '    queue: { minDelay: 7s, maxDelay: 10s }',
    '    hybrid: { budget: 5s }',
  );

describe('hybrid: handle() on real HTTP', () => {
  it('delivered within the budget: answered like sync, nothing queued; the delivery id went along', async () => {
    target = await startTarget((_req, res) => {
      res.statusCode = 200;
      res.end('done');
    });
    const queue = recordingQueue();
    seam = await startSeam(hybridRoute(`${target.url}/hook`, 1), { modes: ['hybrid'], queue });
    const res = await fetch(`${seam.url}/in`, { method: 'POST', body: 'x' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('done');
    expect(queue.offered).toHaveLength(0);
    const id = target.received[0]!.headers['idempotency-key'];
    expect(id).toEqual(expect.any(String));
    expect(target.received[0]!.headers['x-hookrelay-delivery']).toBe(id);
  });

  it('a status outside retryOn is answered, not queued', async () => {
    target = await startTarget((_req, res) => {
      res.statusCode = 422;
      res.end('bad');
    });
    const queue = recordingQueue();
    seam = await startSeam(hybridRoute(`${target.url}/hook`, 1), { modes: ['hybrid'], queue });
    const res = await fetch(`${seam.url}/in`, { method: 'POST', body: 'x' });
    expect(res.status).toBe(422);
    expect(queue.offered).toHaveLength(0);
  });

  it.each([
    // One attempt: queue.minDelay. Two: minDelay × factor = 14 s, capped at queue.maxDelay 10 s.
    [1, 7_000],
    [2, 10_000],
  ])(
    '%i failed attempt(s) hand off with the same id, first queued attempt %i ms later',
    async (attempts, wait) => {
      target = await startTarget((_req, res) => {
        res.statusCode = 503;
        res.end('busy');
      });
      const queue = recordingQueue();
      seam = await startSeam(hybridRoute(`${target.url}/hook`, attempts), { modes: ['hybrid'], queue });
      const before = Date.now();
      const res = await fetch(`${seam.url}/in`, { method: 'POST', body: 'x' });
      const after = Date.now();
      expect(res.status).toBe(202);
      expect(queue.offered).toHaveLength(1);
      const delivery = queue.offered[0]!;
      expect(delivery.attempts).toBe(attempts);
      expect(target.received).toHaveLength(attempts);
      for (const seen of target.received) expect(seen.headers['idempotency-key']).toBe(delivery.id);
      expect(delivery.nextAttemptAt).toBeGreaterThanOrEqual(before + wait);
      expect(delivery.nextAttemptAt).toBeLessThanOrEqual(after + wait);
      await seam.idle();
      expect(requestLines(seam.logs)).toEqual([
        expect.objectContaining({ status: 202, result: 'queued', attempts, deliveryId: delivery.id }),
      ]);
    },
  );

  it("the target's Retry-After schedules the hand-off, capped by queue.maxRetryAfter", async () => {
    target = await startTarget((_req, res) => {
      res.statusCode = 503;
      res.setHeader('retry-after', '3600');
      res.end('later');
    });
    const queue = recordingQueue();
    seam = await startSeam(
      oneRoute(
        'hybrid',
        `${target.url}/hook`,
        '    retry: { attempts: 1 }',
        '    queue: { minDelay: 1s, maxRetryAfter: 20s }',
      ),
      { modes: ['hybrid'], queue },
    );
    const before = Date.now();
    const res = await fetch(`${seam.url}/in`, { method: 'POST', body: 'x' });
    const after = Date.now();
    expect(res.status).toBe(202);
    const { nextAttemptAt } = queue.offered[0]!;
    expect(nextAttemptAt).toBeGreaterThanOrEqual(before + 20_000);
    expect(nextAttemptAt).toBeLessThanOrEqual(after + 20_000);
  });
});
