import { setTimeout as sleep } from 'node:timers/promises';
import pRetry, { AbortError } from 'p-retry';
import type { OutboundRequest } from '../auth/types.ts';
import type { RetryPolicy } from '../config/compile.ts';
import { HookrelayError } from '../errors.ts';
import type { DeliveryResult, Metrics } from '../metrics/index.ts';
import { AttemptError, outcomeOf, type TargetResponse } from './attempt.ts';
import type { TargetPool } from './client.ts';
import { classifyStatus, retryDelay } from './policy.ts';
import { type Presentation, send } from './send.ts';

/**
 * Synchronous delivery: attempts with retries (p-retry drives the loop, our policy picks each
 * delay), bounded by an overall deadline so the caller is never left waiting past it.
 */
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
}

export interface DeliveryOutcome {
  result: DeliveryResult | 'aborted';
  attempts: number;
  /** The target's last answer, when it gave one. */
  response: TargetResponse | undefined;
  /** Set for failed, deadline and aborted outcomes. */
  error: HookrelayError | undefined;
}

/** A retryable status; carries the response so the last one can be reported. */
class RetryableStatus extends Error {
  readonly response: TargetResponse;
  readonly afterMs: number | undefined;
  constructor(response: TargetResponse, afterMs: number | undefined) {
    super(`target answered ${response.status}`);
    this.response = response;
    this.afterMs = afterMs;
  }
}

class DeadlineExceeded extends Error {}

export async function deliver(job: DeliveryJob, metrics: Metrics): Promise<DeliveryOutcome> {
  const { routeId, retry } = job;
  // No deadline timer of its own: each attempt's timeout is cut to what is left of the deadline,
  // and a backoff that would cross it ends the delivery at once. Only the caller's disconnect
  // needs a signal, which keeps the hot path free of composite AbortSignals.
  const deadlineAt = performance.now() + job.timeouts.deadline;
  const signal = job.signal;
  let attempts = 0;
  let last: TargetResponse | Error | undefined;
  let permanent: TargetResponse | undefined;

  const once = async (attemptNumber: number): Promise<TargetResponse> => {
    attempts = attemptNumber;
    if (attemptNumber > 1) metrics.forwardRetries.inc({ route: routeId });
    let cutByDeadline = false;
    let response: TargetResponse;
    try {
      response = await send(
        job.pool,
        job.request,
        job.presentation,
        { routeId, id: job.id, metrics },
        {
          deadline: deadlineAt,
          options: () => {
            const remaining = deadlineAt - performance.now();
            if (remaining < 1) throw new DeadlineExceeded();
            cutByDeadline = remaining < job.timeouts.attempt;
            // Whole milliseconds: the value ends up in the error message the caller reads.
            const timeout = Math.max(1, Math.round(Math.min(job.timeouts.attempt, remaining)));
            return { timeout, responseLimit: job.responseLimit, signal };
          },
          record,
        },
      );
    } catch (error) {
      if (error instanceof DeadlineExceeded) throw new AbortError(error);
      if (error instanceof AttemptError && error.kind === 'timeout' && cutByDeadline) {
        last = new Error(`no answer within the ${job.timeouts.deadline} ms deadline`);
        throw new AbortError(new DeadlineExceeded());
      }
      last = error as Error;
      // An abort means deadline or caller gone; a refused redirect will be refused again. (An
      // answer over the response limit is not an error: its status decides, as for any answer.)
      if (
        (error instanceof AttemptError && error.kind === 'aborted') ||
        (error instanceof HookrelayError && !error.retryable)
      ) {
        throw new AbortError(error);
      }
      throw error;
    }
    last = response;
    const verdict = classifyStatus(response.status, header(response, 'retry-after'), retry);
    if (verdict.kind === 'delivered') return response;
    if (verdict.kind === 'permanent') {
      permanent = response;
      throw new AbortError(`target answered ${response.status}`);
    }
    throw new RetryableStatus(response, verdict.afterMs);
  };

  const record = (result: TargetResponse | AttemptError, started: number) => {
    const outcome = outcomeOf(result);
    metrics.forwardAttempts.inc({ route: routeId, outcome });
    metrics.upstreamDuration.observe({ route: routeId, outcome }, (performance.now() - started) / 1000);
  };

  try {
    const response = await pRetry(once, {
      retries: retry.attempts - 1,
      minTimeout: 0,
      signal,
      onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
        if (retriesLeft <= 0) return;
        const afterMs = error instanceof RetryableStatus ? error.afterMs : undefined;
        const delay = retryDelay(attemptNumber, retry, afterMs);
        if (performance.now() + delay >= deadlineAt) throw new DeadlineExceeded();
        await sleep(delay, undefined, signal ? { signal } : undefined);
      },
    });
    metrics.deliveries.inc({ route: routeId, result: 'delivered' });
    return { result: 'delivered', attempts, response, error: undefined };
  } catch (error) {
    return finish(error);
  }

  function finish(error: unknown): DeliveryOutcome {
    if (permanent) {
      metrics.deliveries.inc({ route: routeId, result: 'rejected' });
      return { result: 'rejected', attempts, response: permanent, error: undefined };
    }
    const response = last instanceof Error ? undefined : last;
    const reason =
      last === undefined
        ? 'no answer yet'
        : last instanceof Error
          ? last.message
          : `target answered ${last.status}`;
    if (job.signal?.aborted) {
      const err = new HookrelayError('HOOKRELAY_ERR_CLIENT_CLOSED');
      return { result: 'aborted', attempts, response, error: err };
    }
    if (error instanceof DeadlineExceeded) {
      metrics.deliveries.inc({ route: routeId, result: 'deadline' });
      const err = new HookrelayError('HOOKRELAY_ERR_DEADLINE', {
        deadline: job.timeouts.deadline,
        attempts,
        reason,
      });
      return { result: 'deadline', attempts, response, error: err };
    }
    metrics.deliveries.inc({ route: routeId, result: 'failed' });
    let err: HookrelayError;
    if (last instanceof HookrelayError) {
      // The token endpoint failed or a redirect was refused: its own code says which.
      err = last;
    } else if (response) {
      err = new HookrelayError('HOOKRELAY_ERR_UPSTREAM_FAILED', { attempts, reason });
    } else {
      err = new HookrelayError('HOOKRELAY_ERR_UPSTREAM_UNREACHABLE', { attempts, reason });
    }
    return { result: 'failed', attempts, response, error: err };
  }
}

function header(response: TargetResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
