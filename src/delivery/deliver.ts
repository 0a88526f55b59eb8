/**
 * Synchronous delivery (sync routes, a hybrid route's budget): attempts while the caller waits, a
 * small loop over the retry verdict (policy.ts), bounded by an overall deadline so the caller is
 * never left waiting past it. No deadline timer of its own: each exchange's timeout is cut to what
 * is left of the deadline, and a wait that would reach it ends the delivery at once. Only the
 * caller's disconnect needs a signal, which keeps the hot path free of composite AbortSignals.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { HookrelayError } from '../core/errors.ts';
import type { OutboundRequest } from '../core/message.ts';
import type { DeliveryResult, Metrics } from '../telemetry/metrics.ts';
import { AttemptError, outcomeOf, type TargetResponse } from './attempt.ts';
import { type DeliveryTrace, endAttemptSpan, startAttemptSpan, withTraceContext } from './attempt-span.ts';
import type { TargetPool } from './client.ts';
import { type RetryPolicy, type Verdict, verdict } from './policy.ts';
import { type AttemptHooks, type Presentation, sendAttempt } from './send-attempt.ts';

export interface DeliveryJob {
  routeId: string;
  pool: TargetPool;
  request: OutboundRequest;
  /** Credentials, signatures and redirect policy, applied afresh on every attempt. */
  presentation: Presentation;
  /** Signed as the message id: the same on every attempt (the hybrid delivery id, else the request id). */
  id: string;
  retry: RetryPolicy;
  timeouts: { attempt: number; deadline: number };
  responseLimit: number;
  /** Aborted when the caller disconnects. */
  signal?: AbortSignal;
  /** When tracing is on: each attempt is a CLIENT span under the call's span (attempt-span.ts). */
  trace?: DeliveryTrace | undefined;
}

export interface DeliveryOutcome {
  result: DeliveryResult | 'aborted';
  attempts: number;
  /** The target's last answer, when it gave one. */
  response: TargetResponse | undefined;
  /** Set for failed, deadline and aborted outcomes. */
  error: HookrelayError | undefined;
}

/**
 * Thrown by the exchange hook when no time is left to start an exchange: the only way to stop an
 * attempt between its redirect hops or before its repeat after a 401.
 */
class NoTimeLeft extends Error {}

const OUT_OF_TIME = { kind: 'expired', by: 'deadline' } as const;

export async function deliver(job: DeliveryJob, metrics: Metrics): Promise<DeliveryOutcome> {
  const { routeId, retry, signal } = job;
  const deadlineAt = performance.now() + job.timeouts.deadline;
  // Whether the latest exchange's timeout was cut to what was left of the deadline.
  let cut = false;
  // The attempt under way, and whether it has started an exchange (reached the target) yet: one
  // stopped before its first exchange for want of time is not an attempt, nor a retry.
  let current = 0;
  let exchanged = false;
  const hooks: AttemptHooks = {
    deadline: deadlineAt,
    options: () => {
      const remaining = deadlineAt - performance.now();
      if (remaining < 1) throw new NoTimeLeft();
      if (!exchanged && current > 1) metrics.forwardRetries.inc({ route: routeId });
      exchanged = true;
      cut = remaining < job.timeouts.attempt;
      // Whole milliseconds: the value ends up in the error message the caller reads.
      const timeout = Math.max(1, Math.round(Math.min(job.timeouts.attempt, remaining)));
      return { timeout, responseLimit: job.responseLimit, signal };
    },
    record: (result, started) => {
      const outcome = outcomeOf(result);
      metrics.forwardAttempts.inc({ route: routeId, outcome });
      metrics.upstreamDuration.observe({ route: routeId, outcome }, (performance.now() - started) / 1000);
    },
  };
  const context = { routeId, id: job.id, metrics };
  let last: TargetResponse | Error | undefined;
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) return conclude(job, metrics, undefined, attempt - 1, last);
    current = attempt;
    exchanged = false;
    let timeLeft: number;
    const span = job.trace && startAttemptSpan(job.trace, job.request, attempt);
    const request = span ? withTraceContext(job.request, span) : job.request;
    try {
      last = await sendAttempt(job.pool, request, job.presentation, context, hooks);
      timeLeft = deadlineAt - performance.now();
    } catch (error) {
      // The attempt never reached the target: the answer to report is still the previous one.
      if (error instanceof NoTimeLeft) {
        span?.end();
        return conclude(job, metrics, OUT_OF_TIME, exchanged ? attempt : attempt - 1, last);
      }
      if (cut && error instanceof AttemptError && error.kind === 'timeout') {
        // Our deadline, not the target's attempt timeout, ran out (whatever the timer's rounding).
        last = new Error(`no answer within the ${job.timeouts.deadline} ms deadline`);
        timeLeft = 0;
      } else {
        last = error as Error;
        timeLeft = deadlineAt - performance.now();
      }
    }
    const next = verdict(attempt, last, retry, { attempts: retry.attempts, timeLeft, deadline: 'end' });
    if (span) endAttemptSpan(span, last, next.kind === 'retry');
    if (next.kind !== 'retry') return conclude(job, metrics, next, attempt, last);
    try {
      await sleep(next.after, undefined, signal ? { signal } : undefined);
    } catch {
      // Only the caller's disconnect interrupts the wait.
      return conclude(job, metrics, undefined, attempt, last);
    }
  }
}

/**
 * The outcome of a delivery that ended with `verdict` (undefined: interrupted by the caller) after
 * `attempts` attempts, `last` being the last attempt's answer or error. A caller that has gone
 * ends it as aborted, unless the target refused: that answer is final either way.
 */
function conclude(
  job: DeliveryJob,
  metrics: Metrics,
  next: Exclude<Verdict, { kind: 'retry' }> | undefined,
  attempts: number,
  last: TargetResponse | Error | undefined,
): DeliveryOutcome {
  const route = job.routeId;
  const response = last instanceof Error ? undefined : last;
  if (next?.kind === 'permanent' && response) {
    metrics.deliveries.inc({ route, result: 'rejected' });
    return { result: 'rejected', attempts, response, error: undefined };
  }
  if (next === undefined || job.signal?.aborted) {
    const error = new HookrelayError('HOOKRELAY_ERR_CLIENT_CLOSED');
    return { result: 'aborted', attempts, response, error };
  }
  if (next.kind === 'delivered') {
    metrics.deliveries.inc({ route, result: 'delivered' });
    return { result: 'delivered', attempts, response, error: undefined };
  }
  const reason =
    last === undefined
      ? 'no answer yet'
      : last instanceof Error
        ? last.message
        : `target answered ${last.status}`;
  if (next.kind === 'expired' && next.by === 'deadline') {
    metrics.deliveries.inc({ route, result: 'deadline' });
    const error = new HookrelayError('HOOKRELAY_ERR_DEADLINE', {
      deadline: job.timeouts.deadline,
      attempts,
      reason,
    });
    return { result: 'deadline', attempts, response, error };
  }
  // Out of attempts, or an error that will happen again (a refused redirect).
  metrics.deliveries.inc({ route, result: 'failed' });
  let error: HookrelayError;
  if (last instanceof HookrelayError) {
    // The token endpoint failed or a redirect was refused: its own code says which.
    error = last;
  } else if (response) {
    error = new HookrelayError('HOOKRELAY_ERR_UPSTREAM_FAILED', { attempts, reason });
  } else {
    error = new HookrelayError('HOOKRELAY_ERR_UPSTREAM_UNREACHABLE', { attempts, reason });
  }
  return { result: 'failed', attempts, response, error };
}
