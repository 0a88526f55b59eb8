import { describe, expect, it } from 'vitest';
import { type RetryPolicy, statusMatcher } from '../../src/config/compile.ts';
import { classifyStatus, parseRetryAfter, retryDelay } from '../../src/delivery/policy.ts';

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
