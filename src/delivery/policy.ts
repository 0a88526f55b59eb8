import type { RetryPolicy } from '../config/compile.ts';

/**
 * What an attempt's result means for the delivery. Every non-2xx is a failure: a relay that counts
 * a 500 as delivered loses data. Retryable statuses come from the route's `retryOn` list.
 */
export type Verdict =
  | { kind: 'delivered' }
  | { kind: 'retry'; afterMs: number | undefined }
  | { kind: 'permanent' };

export function classifyStatus(status: number, retryAfter: string | undefined, policy: RetryPolicy): Verdict {
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  if (policy.retryOn(status)) return { kind: 'retry', afterMs: parseRetryAfter(retryAfter) };
  return { kind: 'permanent' };
}

const HTTP_DATE_START = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? /i;

/**
 * RFC 9110 §10.2.3: Retry-After is delay-seconds or an HTTP-date. Returns milliseconds, or
 * undefined when absent or unparseable.
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Every HTTP-date form starts with a day name. Without this check Date.parse reads "1.5" or "-5"
  // as dates in 2001, which would make a malformed header mean "retry now" instead of "back off".
  if (!HTTP_DATE_START.test(trimmed)) return undefined;
  // HTTP-dates are always GMT; the asctime form has no zone, which Date.parse would read as local.
  const date = Date.parse(/ (GMT|UTC)$/i.test(trimmed) ? trimmed : `${trimmed} GMT`);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * Delay before retry number `retry` (1-based): capped exponential backoff, with "full jitter"
 * (AWS architecture blog, "Exponential Backoff And Jitter") when enabled. A Retry-After from the
 * target wins over the computed backoff, capped by its own `maxRetryAfter` (undici's RetryHandler
 * caps it by `maxTimeout` alike): "back off at most 5 s, but wait an hour when asked" is sayable.
 */
export function retryDelay(
  retry: number,
  policy: RetryPolicy,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxRetryAfter);
  const exponential = Math.min(policy.maxDelay, policy.minDelay * policy.factor ** (retry - 1));
  if (!policy.jitter) return exponential;
  // Keep a floor of half the delay so a retry never fires immediately after a failure.
  return Math.round(exponential / 2 + random() * (exponential / 2));
}
