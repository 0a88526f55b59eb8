/**
 * What one attempt of a queued delivery means for its record: the request rebuilt for the attempt,
 * and the retry verdict turned into ack, retry at a time, or dead letter.
 */
import type { OutboundRequest } from '../core/message.ts';
import { SNIPPET_BYTES, type TargetResponse } from '../delivery/attempt.ts';
import { verdict } from '../delivery/policy.ts';
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
 * What the attempt means for the queued delivery: the retry verdict (delivery/policy.ts) under the
 * route's queued policy, bounded by `queue.maxAttempts` and by `queue.maxAge` since it was
 * accepted or last replayed, turned into what the driver records: ack, nack at the next attempt
 * time, or a dead letter with the reason.
 */
export function decide(
  record: DeliveryRecord,
  result: TargetResponse | Error,
  route: WorkerRoute,
  now: number,
  random: () => number = Math.random,
): Decision {
  const attempt = record.attempts + 1;
  const { maxAttempts, maxAge } = route.queue;
  // A replay restarts the clock: an operator who replays a dead letter wants it retried again.
  const deadline = Math.max(record.createdAt, record.replayedAt ?? 0) + maxAge;
  const limits = { attempts: maxAttempts, timeLeft: deadline - now, deadline: 'last-start' } as const;
  const next = verdict(attempt, result, route.retry, limits, { now, random });
  let reason: string;
  let response: string | undefined;
  if (result instanceof Error) reason = result.message;
  else {
    response = snippet(result.body);
    if (next.kind === 'delivered') return { kind: 'delivered', status: result.status, response };
    reason = `target answered ${result.status}`;
  }
  switch (next.kind) {
    case 'retry':
      return { kind: 'retry', nextAttemptAt: now + next.after, reason, response };
    case 'expired':
      return {
        kind: 'dead',
        reason:
          next.by === 'attempts'
            ? `gave up after ${attempt} attempts: ${reason}`
            : `gave up after maxAge (${maxAge} ms), ${attempt} attempts: ${reason}`,
        response,
      };
    default:
      // Permanent (only an answer is delivered): a status outside retryOn, or a refused redirect,
      // would be the same on every retry.
      return {
        kind: 'dead',
        reason: response === undefined ? reason : `${reason} (not retryable)`,
        response,
      };
  }
}
