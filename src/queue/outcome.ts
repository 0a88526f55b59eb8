import type { OutboundRequest } from '../auth/types.ts';
import { SNIPPET_BYTES, type TargetResponse } from '../delivery/attempt.ts';
import { classifyStatus, retryDelay } from '../delivery/policy.ts';
import { HookrelayError } from '../errors.ts';
import { attemptRequest, type StoredRequestRoute } from './stored-request.ts';
import type { DeliveryRecord } from './types.ts';
import type { WorkerRoute } from './worker.ts';

/** Bytes of the last response kept on the record for operators. */
export { SNIPPET_BYTES };

/** What one attempt means for a queued delivery. */
export type Decision =
  | { kind: 'delivered'; status: number; response: string }
  | { kind: 'retry'; nextAttemptAt: number; reason: string; response: string | undefined }
  | { kind: 'dead'; reason: string; response: string | undefined };

/**
 * The stored request for one attempt, with the configuration's header values and URL as they are
 * now (stored-request.ts) and the delivery id in the route's id headers (the same on every
 * attempt, so the target can drop duplicates). Credentials and signatures are applied by the
 * sender to a copy per attempt, so rotated secrets take effect and none are ever stored.
 */
export function buildAttempt(
  record: DeliveryRecord,
  idHeaders: readonly string[],
  route: StoredRequestRoute = {},
): { origin: string; request: OutboundRequest } {
  const request = attemptRequest(record.request, route);
  for (const name of idHeaders) request.headers[name] = record.id;
  return { origin: request.url.origin, request };
}

export function snippet(body: Buffer): string {
  return body.subarray(0, SNIPPET_BYTES).toString('utf8');
}

/**
 * Every non-2xx is a failure, and every 2xx a delivery, also when the answer was larger than the
 * response limit (only its first bytes are kept). Statuses outside `retryOn` are final (retrying
 * will not change them); everything else is retried with capped, jittered backoff (a Retry-After
 * wins, capped by maxRetryAfter) until maxAttempts or maxAge is reached.
 */
export function decide(
  record: DeliveryRecord,
  result: TargetResponse | Error,
  route: WorkerRoute,
  now: number,
  random: () => number = Math.random,
): Decision {
  const attempt = record.attempts + 1;
  let retryAfterMs: number | undefined;
  let reason: string;
  let response: string | undefined;
  if (result instanceof Error) {
    reason = result.message;
    // A refused redirect will be the same on every retry.
    if (result instanceof HookrelayError && !result.retryable)
      return { kind: 'dead', reason, response: undefined };
  } else {
    response = snippet(result.body);
    const retryAfter = result.headers['retry-after'];
    const verdict = classifyStatus(
      result.status,
      Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
      route.retry,
    );
    if (verdict.kind === 'delivered') return { kind: 'delivered', status: result.status, response };
    reason = `target answered ${result.status}`;
    if (verdict.kind === 'permanent') return { kind: 'dead', reason: `${reason} (not retryable)`, response };
    retryAfterMs = verdict.afterMs;
  }
  const { maxAttempts, maxAge } = route.queue;
  if (attempt >= maxAttempts) {
    return { kind: 'dead', reason: `gave up after ${attempt} attempts: ${reason}`, response };
  }
  // A replay restarts the clock: an operator who replays a dead letter wants it retried again.
  const deadline = Math.max(record.createdAt, record.replayedAt ?? 0) + maxAge;
  if (now >= deadline) {
    return {
      kind: 'dead',
      reason: `gave up after maxAge (${maxAge} ms), ${attempt} attempts: ${reason}`,
      response,
    };
  }
  // The last try lands on the maxAge boundary rather than up to maxDelay (or a Retry-After) past it.
  const nextAttemptAt = Math.min(now + retryDelay(attempt, route.retry, retryAfterMs, random), deadline);
  return { kind: 'retry', nextAttemptAt, reason, response };
}
