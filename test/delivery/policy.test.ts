import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HookrelayError } from '../../src/core/errors.ts';
import { AttemptError, type TargetResponse } from '../../src/delivery/attempt.ts';
import {
  classifyStatus,
  firstQueuedAttemptAt,
  type Limits,
  parseRetryAfter,
  queuedPolicy,
  type RetryPolicy,
  retryDelay,
  statusMatcher,
  type Verdict,
  verdict,
} from '../../src/delivery/policy.ts';

const policy = (
  overrides: Partial<Omit<RetryPolicy, 'retryOn'>> = {},
  retryOn: (number | string)[] = [408, 429, '5xx'],
): RetryPolicy => ({
  attempts: 3,
  minDelay: 100,
  maxDelay: 1_000,
  maxRetryAfter: 10_000,
  factor: 2,
  jitter: false,
  ...overrides,
  retryOn: statusMatcher(retryOn),
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-03-01T12:00:00Z');
  it.each<[string | undefined, number | undefined]>([
    [undefined, undefined],
    ['0', 0],
    ['1', 1_000],
    ['120', 120_000],
    [' 7 ', 7_000],
    ['Sat, 01 Mar 2025 12:00:30 GMT', 30_000],
    ['Sat, 01 Mar 2025 12:00:00 GMT', 0],
    ['Sat, 01 Mar 2025 11:59:00 GMT', 0],
    // RFC 850 and asctime forms are obsolete but still valid HTTP-dates (RFC 9110 §5.6.7).
    ['Saturday, 01-Mar-25 12:00:10 GMT', 10_000],
    ['Sat Mar  1 12:00:05 2025', 5_000],
    ['', undefined],
    ['soon', undefined],
    ['-5', undefined],
    ['1.5', undefined],
    ['120.5', undefined],
    ['2025', 2025_000],
    ['Friday', undefined],
  ])('%j → %j', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });

  it('reads the zone-less asctime form as GMT, whatever the local time zone', () => {
    const tz = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      expect(parseRetryAfter('Sat Mar  1 12:00:05 2025', now)).toBe(5_000);
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
  });
});

describe('retryDelay', () => {
  it.each([
    [1, 100],
    [2, 200],
    [3, 400],
    [4, 800],
    [5, 1_000],
    [30, 1_000],
  ])('without jitter, retry %i waits %i ms (min 100, factor 2, max 1s)', (retry, expected) => {
    expect(retryDelay(retry, policy(), undefined)).toBe(expected);
  });

  it('honours the factor', () => {
    expect(retryDelay(3, policy({ factor: 3, maxDelay: 10_000 }), undefined)).toBe(900);
    expect(retryDelay(3, policy({ factor: 1 }), undefined)).toBe(100);
  });

  it.each([
    [0, 100],
    [0.5, 150],
    [0.999, 200],
  ])(
    'with jitter and random()=%d, retry 2 (backoff 200 ms) waits %i ms (between half and all of the backoff)',
    (r, expected) => {
      expect(Math.round(retryDelay(2, policy({ jitter: true }), undefined, () => r))).toBe(expected);
    },
  );

  it('jitter never exceeds maxDelay', () => {
    expect(retryDelay(20, policy({ jitter: true }), undefined, () => 0.9999)).toBeLessThanOrEqual(1_000);
  });

  it.each([
    [0, 0],
    [500, 500],
    [1_000, 1_000],
    [5_000, 5_000],
    [10_000, 10_000],
    [60_000, 10_000],
  ])(
    'Retry-After of %i ms wins over the backoff (maxDelay 1 s), capped by maxRetryAfter (10 s) → %i',
    (after, expected) => {
      expect(retryDelay(1, policy({ jitter: true }), after, () => 0.5)).toBe(expected);
    },
  );
});

describe('classifyStatus', () => {
  it.each([200, 201, 202, 204, 299])('%i is delivered', (status) => {
    expect(classifyStatus(status, '5', policy())).toEqual({ kind: 'delivered' });
  });

  it.each([408, 429, 500, 502, 503, 504, 599])('%i is retried by default', (status) => {
    expect(classifyStatus(status, undefined, policy())).toEqual({ kind: 'retry', afterMs: undefined });
  });

  it.each([100, 301, 304, 400, 401, 403, 404, 409, 410, 422])('%i is permanent by default', (status) => {
    expect(classifyStatus(status, '1', policy())).toEqual({ kind: 'permanent' });
  });

  it('carries the Retry-After of a retried status', () => {
    expect(classifyStatus(503, '3', policy())).toEqual({ kind: 'retry', afterMs: 3_000 });
    expect(classifyStatus(429, 'garbage', policy())).toEqual({ kind: 'retry', afterMs: undefined });
  });

  it('follows a configured retryOn list', () => {
    const custom = policy({}, [409, '4xx']);
    expect(classifyStatus(409, undefined, custom).kind).toBe('retry');
    expect(classifyStatus(418, undefined, custom).kind).toBe('retry');
    expect(classifyStatus(503, undefined, custom).kind).toBe('permanent');
    expect(classifyStatus(204, undefined, custom).kind).toBe('delivered');
  });

  it('an empty retryOn retries no status', () => {
    expect(classifyStatus(503, undefined, policy({}, [])).kind).toBe('permanent');
  });
});

const answer = (status: number, headers: Record<string, string> = {}, truncated = false): TargetResponse => ({
  status,
  headers,
  body: Buffer.from('x'),
  ...(truncated ? { truncated: true } : {}),
});

describe('verdict', () => {
  const now = Date.parse('2025-03-01T12:00:00Z');
  const date = (seconds: number) => new Date(now + seconds * 1000).toUTCString();
  const refused = new AttemptError('network_error', 'connect ECONNREFUSED 127.0.0.1:1');
  const timedOut = new AttemptError('timeout', 'attempt timed out after 100 ms');
  const aborted = new AttemptError('aborted', 'aborted');
  const redirect = new HookrelayError('HOOKRELAY_ERR_REDIRECT_REFUSED', { reason: 'another origin' });
  const token = new HookrelayError('HOOKRELAY_ERR_AUTH_TOKEN', { reason: 'token endpoint answered 503' });

  const retry = (after: number): Verdict => ({ kind: 'retry', after });
  const delivered: Verdict = { kind: 'delivered' };
  const permanent: Verdict = { kind: 'permanent' };
  const outOfAttempts: Verdict = { kind: 'expired', by: 'attempts' };
  const outOfTime: Verdict = { kind: 'expired', by: 'deadline' };

  interface Row {
    attempt?: number;
    policy?: Partial<Omit<RetryPolicy, 'retryOn'>>;
    limits?: Partial<Limits>;
  }
  // Policy: 3 attempts, backoff 100 ms × 2 per attempt up to 1 s, Retry-After up to 10 s, no
  // jitter. Limits: 3 attempts, no deadline, a waiting caller's (`end`). Attempt 1 unless said.
  it.each<[string, TargetResponse | Error, Row, Verdict]>([
    ['200', answer(200), {}, delivered],
    ['204', answer(204), {}, delivered],
    ['299', answer(299), {}, delivered],
    ['a 2xx too large to read in full', answer(200, {}, true), {}, delivered],
    [
      'a 2xx on the last attempt, past the deadline',
      answer(201),
      { attempt: 3, limits: { timeLeft: -5 } },
      delivered,
    ],
    ['a 2xx with a Retry-After', answer(200, { 'retry-after': '5' }), {}, delivered],
    ['301 (not followed)', answer(301), {}, permanent],
    ['304', answer(304), {}, permanent],
    ['400', answer(400), {}, permanent],
    ['401', answer(401), {}, permanent],
    ['404', answer(404), {}, permanent],
    ['422', answer(422), {}, permanent],
    ['a 4xx too large to read in full', answer(404, {}, true), {}, permanent],
    ['a 400 with a Retry-After', answer(400, { 'retry-after': '1' }), {}, permanent],
    ['a refusal past the deadline', answer(400), { limits: { timeLeft: 0 } }, permanent],
    ['a refused redirect (not retryable)', redirect, {}, permanent],
    ['408', answer(408), {}, retry(100)],
    ['429', answer(429), {}, retry(100)],
    ['500', answer(500), {}, retry(100)],
    ['503', answer(503), {}, retry(100)],
    ['a 5xx too large to read in full', answer(503, {}, true), {}, retry(100)],
    ['a refused connection', refused, {}, retry(100)],
    ['a timeout', timedOut, {}, retry(100)],
    ['an attempt aborted from our side (the engine stops on its own signal)', aborted, {}, retry(100)],
    ['the token endpoint failing (retryable)', token, {}, retry(100)],
    ['an unexpected error', new Error('boom'), {}, retry(100)],
    ['503 on attempt 2: the backoff doubles', answer(503), { attempt: 2 }, retry(200)],
    [
      '503 on attempt 2 of 10, factor 3',
      answer(503),
      { attempt: 2, policy: { factor: 3 }, limits: { attempts: 10 } },
      retry(300),
    ],
    [
      '503 on attempt 8 of 10: capped at maxDelay',
      answer(503),
      { attempt: 8, limits: { attempts: 10 } },
      retry(1_000),
    ],
    ['Retry-After: 3 (seconds)', answer(503, { 'retry-after': '3' }), {}, retry(3_000)],
    ['Retry-After: 0', answer(429, { 'retry-after': '0' }), {}, retry(0)],
    ['Retry-After: an HTTP-date 8 s ahead', answer(503, { 'retry-after': date(8) }), {}, retry(8_000)],
    ['Retry-After: an HTTP-date in the past', answer(503, { 'retry-after': date(-60) }), {}, retry(0)],
    [
      'Retry-After: garbage falls back to the backoff',
      answer(503, { 'retry-after': 'soon' }),
      {},
      retry(100),
    ],
    ['Retry-After: 1.5 falls back to the backoff', answer(503, { 'retry-after': '1.5' }), {}, retry(100)],
    ['Retry-After: 5 is not capped by maxDelay (1 s)', answer(503, { 'retry-after': '5' }), {}, retry(5_000)],
    [
      'Retry-After: 60 is capped by maxRetryAfter (10 s)',
      answer(503, { 'retry-after': '60' }),
      {},
      retry(10_000),
    ],
    ['the last attempt', answer(503), { attempt: 3 }, outOfAttempts],
    ['past the last attempt', refused, { attempt: 4 }, outOfAttempts],
    [
      'the last attempt with a Retry-After',
      answer(503, { 'retry-after': '1' }),
      { attempt: 3 },
      outOfAttempts,
    ],
    ['attempts: 1 (no retries)', timedOut, { limits: { attempts: 1 } }, outOfAttempts],
    ['the deadline reached', answer(503), { limits: { timeLeft: 0 } }, outOfTime],
    ['the deadline passed', refused, { limits: { timeLeft: -1 } }, outOfTime],
    [
      'the deadline and the attempts both spent: time first',
      answer(503),
      { attempt: 3, limits: { timeLeft: 0 } },
      outOfTime,
    ],
    ['end: a backoff that would reach the deadline', answer(503), { limits: { timeLeft: 100 } }, outOfTime],
    [
      'end: a backoff that ends just before the deadline',
      answer(503),
      { limits: { timeLeft: 101 } },
      retry(100),
    ],
    [
      'end: a Retry-After beyond the deadline',
      answer(503, { 'retry-after': '5' }),
      { limits: { timeLeft: 1_000 } },
      outOfTime,
    ],
    [
      'last-start: a backoff that would cross the deadline lands on it',
      answer(503),
      { limits: { timeLeft: 40, deadline: 'last-start' } },
      retry(40),
    ],
    [
      'last-start: a Retry-After beyond the deadline lands on it',
      answer(503, { 'retry-after': '5' }),
      { limits: { timeLeft: 1_000, deadline: 'last-start' } },
      retry(1_000),
    ],
    [
      'last-start: the deadline reached',
      refused,
      { limits: { timeLeft: 0, deadline: 'last-start' } },
      outOfTime,
    ],
    [
      'last-start: the last attempt before the deadline',
      refused,
      { attempt: 3, limits: { timeLeft: 1_000, deadline: 'last-start' } },
      outOfAttempts,
    ],
  ])('%s', (_name, result, row, expected) => {
    const limits: Limits = {
      attempts: 3,
      timeLeft: Number.POSITIVE_INFINITY,
      deadline: 'end',
      ...row.limits,
    };
    expect(verdict(row.attempt ?? 1, result, policy(row.policy), limits, { now })).toEqual(expected);
  });

  it("follows the route's retryOn list", () => {
    const limits: Limits = { attempts: 3, timeLeft: 10_000, deadline: 'end' };
    const custom = policy({}, [409]);
    expect(verdict(1, answer(409), custom, limits)).toEqual(retry(100));
    expect(verdict(1, answer(503), custom, limits)).toEqual(permanent);
    // Network errors and timeouts are retried whatever the list says.
    expect(verdict(1, refused, policy({}, []), limits)).toEqual(retry(100));
  });

  it('jitters the backoff between half and all of it, never a Retry-After', () => {
    const limits: Limits = { attempts: 5, timeLeft: 10_000, deadline: 'end' };
    const jittered = policy({ jitter: true });
    expect(verdict(2, answer(503), jittered, limits, { random: () => 0 })).toEqual(retry(100));
    expect(verdict(2, answer(503), jittered, limits, { random: () => 1 })).toEqual(retry(200));
    const asked = answer(503, { 'retry-after': '2' });
    expect(verdict(2, asked, jittered, limits, { random: () => 0 })).toEqual(retry(2_000));
  });

  it('reads the first of repeated Retry-After headers', () => {
    const limits: Limits = { attempts: 3, timeLeft: 10_000, deadline: 'end' };
    const repeated: TargetResponse = {
      status: 503,
      headers: { 'retry-after': ['2', '7'] },
      body: Buffer.alloc(0),
    };
    expect(verdict(1, repeated, policy(), limits)).toEqual(retry(2_000));
  });
});

describe('firstQueuedAttemptAt (hybrid hand-off)', () => {
  const now = 1_000_000;
  // The route waits 100 ms..1 s while the caller waits; its queue 1 s..60 s, Retry-After up to 1 h.
  const route = (
    queue: Partial<{ minDelay: number; maxDelay: number; maxRetryAfter: number; maxAge: number }> = {},
  ) => ({
    retry: policy({ maxRetryAfter: 10_000 }),
    queue: { minDelay: 1_000, maxDelay: 60_000, maxRetryAfter: 3_600_000, maxAge: 86_400_000, ...queue },
  });
  const unreachable = new HookrelayError('HOOKRELAY_ERR_UPSTREAM_UNREACHABLE', { attempts: 3, reason: 'x' });
  const failedWith = (attempts: number, response: TargetResponse | undefined) => ({
    attempts,
    response,
    error: response ? undefined : unreachable,
  });

  it.each<[string, ReturnType<typeof failedWith>, ReturnType<typeof route>, number]>([
    ['after 1 attempt: queue.minDelay, not retry.minDelay', failedWith(1, undefined), route(), 1_000],
    ['after 3 attempts: the queue backoff of the 3rd', failedWith(3, answer(503)), route(), 4_000],
    ['no attempt made (budget spent before it) counts as 1', failedWith(0, undefined), route(), 1_000],
    ['after 20 attempts: capped at queue.maxDelay', failedWith(20, undefined), route(), 60_000],
    [
      'Retry-After: 120 beyond queue.maxDelay',
      failedWith(3, answer(503, { 'retry-after': '120' })),
      route(),
      120_000,
    ],
    [
      'Retry-After: 7200 capped by queue.maxRetryAfter, not retry.maxRetryAfter',
      failedWith(3, answer(429, { 'retry-after': '7200' })),
      route(),
      3_600_000,
    ],
    [
      'Retry-After: an HTTP-date',
      failedWith(2, answer(503, { 'retry-after': new Date(now + 90_000).toUTCString() })),
      route(),
      90_000,
    ],
    [
      'Retry-After: garbage falls back to the queue backoff',
      failedWith(2, answer(503, { 'retry-after': 'later' })),
      route(),
      2_000,
    ],
    [
      'never past queue.maxAge',
      failedWith(3, answer(503, { 'retry-after': '7200' })),
      route({ maxAge: 600_000 }),
      600_000,
    ],
  ])('%s', (_name, sync, r, wait) => {
    expect(firstQueuedAttemptAt(r, sync, { now })).toBe(now + wait);
  });

  it('jitters like the workers', () => {
    const jittered = { ...route(), retry: policy({ jitter: true }) };
    expect(firstQueuedAttemptAt(jittered, failedWith(2, undefined), { now, random: () => 0 })).toBe(
      now + 1_000,
    );
    expect(firstQueuedAttemptAt(jittered, failedWith(2, undefined), { now, random: () => 1 })).toBe(
      now + 2_000,
    );
  });

  it('is due at once for what is not a retryable failure (the workers judge it)', () => {
    const redirect = new HookrelayError('HOOKRELAY_ERR_REDIRECT_REFUSED', { reason: 'x' });
    expect(
      firstQueuedAttemptAt(route(), { attempts: 1, response: undefined, error: redirect }, { now }),
    ).toBe(now);
    expect(
      firstQueuedAttemptAt(route(), { attempts: 1, response: undefined, error: undefined }, { now }),
    ).toBe(now);
  });

  it('reads the clock when not given one', () => {
    const before = Date.now();
    const at = firstQueuedAttemptAt(route(), failedWith(1, undefined));
    expect(at).toBeGreaterThanOrEqual(before + 1_000);
  });
});

describe('queuedPolicy', () => {
  it('takes the backoff and Retry-After cap from the queue, the rest from the route', () => {
    const sync = policy({ factor: 3, jitter: true });
    const queued = queuedPolicy(sync, { minDelay: 1_000, maxDelay: 300_000, maxRetryAfter: 3_600_000 });
    expect(queued).toEqual({ ...sync, minDelay: 1_000, maxDelay: 300_000, maxRetryAfter: 3_600_000 });
    expect(queued.retryOn).toBe(sync.retryOn);
  });
});

/**
 * Properties of the pure verdict over generated policies, limits and answers: whatever the
 * settings, a delivery is never retried past its attempts or its deadline, the backoff grows and
 * stays within its bounds, a Retry-After is honoured up to its own cap, and the status alone decides
 * delivered and permanent.
 */
describe('verdict properties', () => {
  const RETRY_ON = [408, 429, '5xx'] as const;
  const policyArb = fc
    .record({
      attempts: fc.integer({ min: 1, max: 20 }),
      minDelay: fc.integer({ min: 0, max: 60_000 }),
      spread: fc.integer({ min: 0, max: 600_000 }),
      maxRetryAfter: fc.integer({ min: 0, max: 7_200_000 }),
      factor: fc.double({ min: 1, max: 4, noNaN: true }),
      jitter: fc.boolean(),
    })
    .map(
      ({ spread, ...p }): RetryPolicy => ({
        ...p,
        maxDelay: p.minDelay + spread,
        retryOn: statusMatcher([...RETRY_ON]),
      }),
    );
  const limitsArb = fc.record({
    attempts: fc.integer({ min: 1, max: 30 }),
    timeLeft: fc.integer({ min: -10_000, max: 10_000_000 }),
    deadline: fc.constantFrom<Limits['deadline']>('end', 'last-start'),
  });
  const retried = fc.oneof(fc.constantFrom(408, 429), fc.integer({ min: 500, max: 599 }));
  const notRetried = fc
    .integer({ min: 100, max: 599 })
    .filter((s) => (s < 200 || s >= 300) && s !== 408 && s !== 429 && s < 500);
  const retryAfterArb = fc.option(fc.integer({ min: 0, max: 100_000 }).map(String), { nil: undefined });
  const response = (status: number, retryAfter?: string): TargetResponse =>
    answer(status, retryAfter === undefined ? {} : { 'retry-after': retryAfter });
  const networkError = fc.constantFrom(
    new AttemptError('network_error', 'connect ECONNREFUSED'),
    new AttemptError('timeout', 'timed out'),
  );
  const resultArb = fc.oneof(
    fc.tuple(fc.integer({ min: 100, max: 599 }), retryAfterArb).map(([s, r]) => response(s, r)),
    networkError,
  );
  const random = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
  const RUNS = { numRuns: 500 };

  it('never retries on or past the last attempt, nor on or past the deadline', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        resultArb,
        policyArb,
        limitsArb,
        random,
        (n, result, p, limits, r) => {
          const v = verdict(n, result, p, limits, { now: 0, random: () => r });
          if (v.kind !== 'retry') return;
          expect(n).toBeLessThan(limits.attempts);
          expect(limits.timeLeft).toBeGreaterThan(0);
          expect(v.after).toBeGreaterThanOrEqual(0);
          if (limits.deadline === 'end') expect(v.after).toBeLessThan(limits.timeLeft);
          else expect(v.after).toBeLessThanOrEqual(limits.timeLeft);
        },
      ),
      RUNS,
    );
  });

  it('a retryable failure that is not retried is expired, by the deadline first', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), retried, policyArb, limitsArb, (n, status, p, limits) => {
        const v = verdict(n, response(status), p, limits, { now: 0, random: () => 0.5 });
        expect(v.kind === 'retry' || v.kind === 'expired').toBe(true);
        if (limits.timeLeft <= 0) expect(v).toEqual({ kind: 'expired', by: 'deadline' });
        else if (n >= limits.attempts) expect(v).toEqual({ kind: 'expired', by: 'attempts' });
      }),
      RUNS,
    );
  });

  it('the backoff is non-decreasing and within minDelay and maxDelay (half of it, jittered)', () => {
    fc.assert(
      fc.property(policyArb, fc.integer({ min: 1, max: 60 }), random, (p, n, r) => {
        const plain = { ...p, jitter: false };
        const a = retryDelay(n, plain, undefined);
        const b = retryDelay(n + 1, plain, undefined);
        expect(a).toBeLessThanOrEqual(b);
        expect(a).toBeGreaterThanOrEqual(p.minDelay);
        expect(b).toBeLessThanOrEqual(p.maxDelay);
        const jittered = retryDelay(n, { ...p, jitter: true }, undefined, () => r);
        expect(jittered).toBeGreaterThanOrEqual(Math.floor(a / 2));
        // Jitter rounds to whole milliseconds: at most half a millisecond over a fractional backoff.
        expect(jittered).toBeLessThanOrEqual(Math.round(a));
        expect(jittered).toBeLessThanOrEqual(p.maxDelay);
      }),
      RUNS,
    );
  });

  it('the backoff of a retried verdict is the one of retryDelay when time and attempts remain', () => {
    fc.assert(
      fc.property(policyArb, fc.integer({ min: 1, max: 19 }), retried, (p, n, status) => {
        const v = verdict(
          n,
          response(status),
          { ...p, jitter: false },
          { attempts: 20, timeLeft: 1e9, deadline: 'end' },
        );
        expect(v).toEqual({ kind: 'retry', after: retryDelay(n, { ...p, jitter: false }, undefined) });
      }),
      RUNS,
    );
  });

  it('a Retry-After replaces the backoff (also the jitter), capped by maxRetryAfter, not by maxDelay', () => {
    fc.assert(
      fc.property(
        policyArb,
        fc.integer({ min: 1, max: 19 }),
        retried,
        fc.integer({ min: 0, max: 100_000 }),
        random,
        (p, n, status, seconds, r) => {
          const limits: Limits = { attempts: 20, timeLeft: 1e12, deadline: 'last-start' };
          const v = verdict(n, response(status, String(seconds)), p, limits, { now: 0, random: () => r });
          expect(v).toEqual({ kind: 'retry', after: Math.min(seconds * 1000, p.maxRetryAfter) });
        },
      ),
      RUNS,
    );
  });

  it('a Retry-After past the deadline: a waiting caller is told at once, a queued retry is placed on the boundary', () => {
    fc.assert(
      fc.property(policyArb, retried, fc.integer({ min: 1, max: 1_000_000 }), (p, status, timeLeft) => {
        const patient = { ...p, maxRetryAfter: timeLeft + 1_000 };
        const late = response(status, String(Math.ceil(timeLeft / 1000) + 1));
        const limits = (deadline: Limits['deadline']): Limits => ({ attempts: 20, timeLeft, deadline });
        expect(verdict(1, late, patient, limits('end'))).toEqual({ kind: 'expired', by: 'deadline' });
        expect(verdict(1, late, patient, limits('last-start'))).toEqual({ kind: 'retry', after: timeLeft });
      }),
      RUNS,
    );
  });

  it('a 2xx is delivered and a status outside retryOn permanent, whatever the attempt, limits or Retry-After', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 200, max: 299 }),
        notRetried,
        retryAfterArb,
        fc.integer({ min: 1, max: 40 }),
        policyArb,
        limitsArb,
        (ok, refused, retryAfter, n, p, limits) => {
          expect(verdict(n, response(ok, retryAfter), p, limits)).toEqual({ kind: 'delivered' });
          expect(verdict(n, response(refused, retryAfter), p, limits)).toEqual({ kind: 'permanent' });
        },
      ),
      RUNS,
    );
  });

  it('an error that says it will happen again is permanent; a network error or timeout is not', () => {
    const final = new HookrelayError('HOOKRELAY_ERR_REDIRECT_REFUSED', { reason: 'another origin' });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        networkError,
        policyArb,
        limitsArb,
        (n, error, p, limits) => {
          expect(verdict(n, final, p, limits)).toEqual({ kind: 'permanent' });
          expect(verdict(n, error, p, limits).kind).not.toBe('permanent');
        },
      ),
      RUNS,
    );
  });
});
