/**
 * The retry policy of both engines: what an attempt's result means for its delivery (`verdict`),
 * given the route's retry settings, the attempts made and the time left. The synchronous loop
 * (deliver.ts) and the queue's workers (queue/outcome.ts) ask the same function, so a status, an
 * error, a Retry-After and a deadline mean one thing everywhere; each engine only says what its
 * limits are and what it does with the verdict.
 */
import { HookrelayError } from '../core/errors.ts';
import type { TargetResponse } from './attempt.ts';

/** A route's retry settings, compiled: the status list turned into a lookup. */
export interface RetryPolicy {
  /** Attempts while a caller waits (sync, hybrid); queued attempts are bounded by queue.maxAttempts. */
  attempts: number;
  minDelay: number;
  /** Cap of the computed backoff. */
  maxDelay: number;
  /** Cap of a target's Retry-After, which replaces the backoff (and is not capped by maxDelay). */
  maxRetryAfter: number;
  factor: number;
  jitter: boolean;
  retryOn: (status: number) => boolean;
}

/** `[408, 429, '5xx']` → a lookup: exact statuses and whole classes. */
export function statusMatcher(list: readonly (number | string)[]): (status: number) => boolean {
  const exact = new Set<number>();
  const classes = new Set<number>();
  for (const item of list) {
    if (typeof item === 'number') exact.add(item);
    else classes.add(Number(item[0]));
  }
  return (status) => exact.has(status) || classes.has(Math.floor(status / 100));
}

/** When retrying stops: once `attempts` attempts are made, or at a deadline `timeLeft` ms away. */
export interface Limits {
  attempts: number;
  /** Milliseconds from the end of this attempt to the deadline; 0 or less: reached. */
  timeLeft: number;
  /**
   * What the deadline bounds. `end`: the delivery must be over by then, because a caller waits for
   * it (the sync deadline, the hybrid budget): a wait that would reach it ends the delivery at once
   * instead of sleeping in vain. `last-start`: an attempt may still start on it (a queued
   * delivery's maxAge): the last retry is placed on the boundary rather than up to maxDelay (or a
   * Retry-After) past it.
   */
  deadline: 'end' | 'last-start';
}

/**
 * What one attempt means for its delivery. Every non-2xx is a failure: a relay that counts a 500
 * as delivered loses data. `retry.after` is the wait in milliseconds before the next attempt;
 * `expired` says which limit ended a delivery that would otherwise be retried.
 */
export type Verdict =
  | { readonly kind: 'delivered' }
  | { readonly kind: 'retry'; readonly after: number }
  | { readonly kind: 'permanent' }
  | { readonly kind: 'expired'; readonly by: 'attempts' | 'deadline' };

/** The wall clock (for a Retry-After given as an HTTP-date) and the jitter source; tests pin them. */
export interface Clock {
  now?: number | undefined;
  random?: (() => number) | undefined;
}

// Shared answers: the hot path (a 2xx) allocates nothing to learn it is done.
const DELIVERED = Object.freeze({ kind: 'delivered' as const });
const PERMANENT = Object.freeze({ kind: 'permanent' as const });
const OUT_OF_ATTEMPTS = Object.freeze({ kind: 'expired' as const, by: 'attempts' as const });
const OUT_OF_TIME = Object.freeze({ kind: 'expired' as const, by: 'deadline' as const });

/**
 * The verdict on attempt number `attempt` (1-based) of a delivery, whose `result` is the target's
 * answer or the error that stopped the attempt:
 *
 * - a 2xx is delivered, also when the answer was larger than the response limit (its status says
 *   what the target did; only the first bytes were read);
 * - a status outside `retryOn`, and an error that says it will happen again (a refused redirect:
 *   HookrelayError with `retryable: false`), are permanent;
 * - everything else is retried (a status in `retryOn`, a network error, a timeout, the token
 *   endpoint failing), unless the deadline has passed, or this was the last attempt, or (for an
 *   `end` deadline) the wait would reach the deadline: then it is expired. The time is asked first:
 *   a caller whose deadline ran out is told so (504) even when the attempts ran out with it.
 *
 * The wait is the backoff of `retryDelay`, or the target's Retry-After on a retried status. An
 * attempt aborted from our side (caller gone, shutdown) is no answer from the target and is judged
 * like a network error: each engine stops on its own signal before it acts on a verdict.
 */
export function verdict(
  attempt: number,
  result: TargetResponse | Error,
  policy: RetryPolicy,
  limits: Limits,
  clock: Clock = {},
): Verdict {
  let retryAfterMs: number | undefined;
  if (result instanceof Error) {
    if (result instanceof HookrelayError && !result.retryable) return PERMANENT;
  } else {
    const status = classifyStatus(result.status, retryAfterOf(result), policy, clock.now);
    if (status.kind !== 'retry') return status;
    retryAfterMs = status.afterMs;
  }
  if (limits.timeLeft <= 0) return OUT_OF_TIME;
  if (attempt >= limits.attempts) return OUT_OF_ATTEMPTS;
  const wait = retryDelay(attempt, policy, retryAfterMs, clock.random);
  if (wait < limits.timeLeft) return { kind: 'retry', after: wait };
  return limits.deadline === 'end' ? OUT_OF_TIME : { kind: 'retry', after: limits.timeLeft };
}

/** What a status alone means; a retried one carries its Retry-After (ms, when given and readable). */
export type StatusClass =
  | { readonly kind: 'delivered' }
  | { readonly kind: 'retry'; readonly afterMs: number | undefined }
  | { readonly kind: 'permanent' };

export function classifyStatus(
  status: number,
  retryAfter: string | undefined,
  policy: RetryPolicy,
  now?: number,
): StatusClass {
  if (status >= 200 && status < 300) return DELIVERED;
  // A Retry-After on a status that is not retried is not ours to honour: the refusal is final.
  if (policy.retryOn(status)) return { kind: 'retry', afterMs: parseRetryAfter(retryAfter, now) };
  return PERMANENT;
}

function retryAfterOf(response: TargetResponse): string | undefined {
  const value = response.headers['retry-after'];
  return Array.isArray(value) ? value[0] : value;
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

/** The queue's part of a route's retry settings (`queue.*`; a compiled route's `queue` has them). */
export interface QueueSchedule {
  minDelay: number;
  maxDelay: number;
  maxRetryAfter: number;
  maxAge: number;
}

/**
 * The policy of queued attempts: the route's retry rules (`retryOn`, `factor`, `jitter`) with the
 * queue's backoff and Retry-After cap, which are patient where a waiting caller's are not. The
 * number of attempts is the queue's `maxAttempts`, which the workers pass as a limit.
 */
export function queuedPolicy(
  retry: RetryPolicy,
  queue: Pick<QueueSchedule, 'minDelay' | 'maxDelay' | 'maxRetryAfter'>,
): RetryPolicy {
  return { ...retry, minDelay: queue.minDelay, maxDelay: queue.maxDelay, maxRetryAfter: queue.maxRetryAfter };
}

/**
 * When the first queued attempt of a hybrid delivery is due, once the synchronous attempts within
 * the budget failed retryably: the verdict a worker would have given on the last of them, under
 * the queued policy, the attempts made counting as the record's. So the hand-off and the workers
 * wait alike: the queue's backoff (`queue.minDelay` × `retry.factor`^(attempts − 1), capped at
 * `queue.maxDelay`, jittered), or the last answer's Retry-After up to `queue.maxRetryAfter`, never
 * past `queue.maxAge` (whose clock starts at the hand-off). `queue.maxAttempts` is left to the
 * workers, who judge it after their attempt. Returns epoch milliseconds (`nextAttemptAt`).
 */
export function firstQueuedAttemptAt(
  route: { retry: RetryPolicy; queue: QueueSchedule },
  sync: { attempts: number; response: TargetResponse | undefined; error: Error | undefined },
  clock: Clock = {},
): number {
  const now = clock.now ?? Date.now();
  const last = sync.response ?? sync.error;
  if (last === undefined) return now;
  const next = verdict(
    Math.max(1, sync.attempts),
    last,
    queuedPolicy(route.retry, route.queue),
    { attempts: Number.POSITIVE_INFINITY, timeLeft: route.queue.maxAge, deadline: 'last-start' },
    { now, random: clock.random },
  );
  // Only a retryable failure is handed off; anything else is due at once, for the workers to judge.
  return next.kind === 'retry' ? now + next.after : now;
}
