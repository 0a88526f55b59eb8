/**
 * The lookup's HTTP exchange: credentials applied afresh on every attempt (an OAuth2 token from
 * its cache), one exchange on the pool within what is left of the step's `timeout`, the answer
 * read within `maxResponse`, and the delivery's own retry verdict (delivery/policy.ts) on network
 * errors and 429/502/503/504, all inside the one timeout. Returns the last answer, whatever its
 * status; throws the step's codes for no answer at all. With tracing on, each exchange is a
 * CLIENT span under the step's (as a delivery attempt's) and the API receives its `traceparent`.
 */
import type { OutboundAuth } from '../auth/types.ts';
import { HookrelayError } from '../core/errors.ts';
import type { Counts, OutboundRequest } from '../core/message.ts';
import type { Span, TraceParent } from '../core/tracing.ts';
import { AttemptError, exchange, type TargetResponse } from '../delivery/attempt.ts';
import { endAttemptSpan, startAttemptSpan, withTraceContext } from '../delivery/attempt-span.ts';
import { isStaleConnection, type TargetPool } from '../delivery/client.ts';
import { type RetryPolicy, verdict } from '../delivery/policy.ts';

export interface LookupPlan {
  step: string;
  routeId: string;
  auth: OutboundAuth | undefined;
  timeout: number;
  maxResponse: number;
  policy: RetryPolicy;
  authMetrics?: { authTokenRequests: Counts<'route' | 'outcome'> } | undefined;
}

export interface Looked {
  response: TargetResponse;
  attempts: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Asks `request` (no credentials yet) on `pool`. Throws HOOKRELAY_ERR_FETCH_UNREACHABLE,
 * HOOKRELAY_ERR_FETCH_TIMEOUT or HOOKRELAY_ERR_AUTH_TOKEN.
 */
export async function lookup(
  pool: TargetPool,
  request: OutboundRequest,
  plan: LookupPlan,
  trace?: TraceParent,
): Promise<Looked> {
  const deadline = performance.now() + plan.timeout;
  let refreshed = false;
  for (let attempt = 1; ; attempt++) {
    const span = trace && startAttemptSpan(trace, request, attempt);
    span?.setAttributes({ 'hookrelay.route': plan.routeId, 'hookrelay.step': plan.step });
    const result = await once(pool, request, plan, deadline, span);
    if (
      !(result instanceof Error) &&
      result.response.status === 401 &&
      !refreshed &&
      plan.auth?.onUnauthorized
    ) {
      // A revoked or rotated token: fetched afresh once, not counted as a retry (as for targets).
      refreshed = true;
      if (await plan.auth.onUnauthorized(result.sent)) {
        if (span) endAttemptSpan(span, result.response, true);
        attempt--;
        continue;
      }
    }
    const answer = result instanceof Error ? result : result.response;
    const next = verdict(attempt, answer, plan.policy, {
      attempts: plan.policy.attempts,
      timeLeft: deadline - performance.now(),
      deadline: 'end',
    });
    if (span) endAttemptSpan(span, answer, next.kind === 'retry');
    if (next.kind === 'retry') {
      await sleep(next.after);
      continue;
    }
    if (!(answer instanceof Error)) return { response: answer, attempts: attempt };
    throw failure(answer, attempt, plan, deadline);
  }
}

type Once = { response: TargetResponse; sent: OutboundRequest } | Error;

async function once(
  pool: TargetPool,
  base: OutboundRequest,
  plan: LookupPlan,
  deadline: number,
  span: Span | undefined,
): Promise<Once> {
  let request: OutboundRequest = { ...base, url: new URL(base.url), headers: { ...base.headers } };
  try {
    await plan.auth?.apply(request, { routeId: plan.routeId, metrics: plan.authMetrics, deadline });
  } catch (error) {
    return error as Error;
  }
  if (span) request = withTraceContext(request, span);
  const left = deadline - performance.now();
  if (left <= 0) return new AttemptError('timeout', `no time left for the lookup`);
  const attempt = {
    method: request.method,
    path: request.url.pathname + request.url.search,
    headers: request.headers,
    body: undefined,
  };
  const options = { timeout: left, responseLimit: plan.maxResponse };
  try {
    return { response: await exchange(pool, attempt, options), sent: request };
  } catch (error) {
    if (!(error instanceof AttemptError) || error.kind !== 'network_error' || !isStaleConnection(error)) {
      return error as Error;
    }
  }
  // A kept-alive connection the API had closed while idle: the request never reached it.
  const client = pool.fresh();
  try {
    const timeout = Math.max(1, deadline - performance.now());
    return { response: await exchange(client, attempt, { ...options, timeout }), sent: request };
  } catch (error) {
    return error as Error;
  } finally {
    client.close().catch(() => client.destroy());
  }
}

function failure(error: Error, attempts: number, plan: LookupPlan, deadline: number): HookrelayError {
  const timedOut =
    (error instanceof AttemptError && error.kind !== 'network_error') ||
    (error instanceof HookrelayError &&
      error.code === 'HOOKRELAY_ERR_AUTH_TOKEN' &&
      performance.now() >= deadline);
  if (timedOut) {
    return new HookrelayError('HOOKRELAY_ERR_FETCH_TIMEOUT', {
      step: plan.step,
      timeout: plan.timeout,
      attempts,
    });
  }
  if (error instanceof HookrelayError) return error;
  return new HookrelayError(
    'HOOKRELAY_ERR_FETCH_UNREACHABLE',
    { step: plan.step, attempts, reason: error.message },
    { cause: error },
  );
}
