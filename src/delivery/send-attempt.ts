/**
 * One attempt of a delivery, the same for both engines: the request presented afresh (credentials,
 * signatures), its exchanges (redirect hops, the repeat after a 401, the re-send on a fresh
 * connection) and what each exchange reports to the engine through its hooks.
 */
import type { OutboundAuth } from '../auth/types.ts';
import type { OutboundRequest } from '../core/message.ts';
import type { Signer } from '../signers/types.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import {
  AttemptError,
  type AttemptOptions,
  type AttemptRequest,
  exchange,
  type TargetResponse,
} from './attempt.ts';
import { isStaleConnection, type TargetPool } from './client.ts';
import { redirectTarget } from './redirect.ts';

/** How a route presents itself to the target on every attempt. */
export interface Presentation {
  auth: OutboundAuth | undefined;
  sign: readonly Signer[];
  /** Same-origin redirects followed per attempt; 0 = a 3xx is the answer. */
  followRedirects: number;
}

export interface AttemptContext {
  routeId: string;
  /** Signed as the message id (`webhook-id`): the delivery id, or the request id of a sync route. */
  id: string;
  metrics: Metrics;
}

/** Per HTTP exchange of one attempt (a redirect hop or the repeat after a 401 is one more). */
export interface AttemptHooks {
  /** `performance.now()` past which no exchange may start (the deadline, or the lease). */
  deadline: number;
  /** The exchange's timeout and signal, computed when it starts; may throw to stop the attempt. */
  options(): AttemptOptions;
  /** Called with each exchange's result (aborted ones excepted) and its start time. */
  record(result: TargetResponse | AttemptError, started: number): void;
}

/** The request as it leaves: a copy of `base` at `url`, with credentials, then signatures. */
async function present(
  base: OutboundRequest,
  url: URL,
  presentation: Presentation,
  context: Pick<AttemptContext, 'routeId' | 'id'> & { metrics?: Metrics | undefined },
  deadline?: number,
): Promise<OutboundRequest> {
  // Nothing to add: the stored request is sent as is (the hot path of a plain route).
  if (!presentation.auth && presentation.sign.length === 0) return url === base.url ? base : { ...base, url };
  const request: OutboundRequest = {
    method: base.method,
    url: new URL(url),
    headers: { ...base.headers },
    body: base.body,
  };
  await presentation.auth?.apply(request, {
    routeId: context.routeId,
    metrics: context.metrics,
    deadline,
  });
  // Signatures last: they cover the final URL and body, and an auth query parameter with them.
  if (presentation.sign.length > 0) {
    const now = Date.now();
    for (const signer of presentation.sign) signer.sign(request, { id: context.id, now });
  }
  return request;
}

function toAttempt(request: OutboundRequest): AttemptRequest {
  return {
    method: request.method,
    path: request.url.pathname + request.url.search,
    headers: request.headers,
    body: request.body,
  };
}

/**
 * One attempt of a delivery: credentials and signatures applied afresh, same-origin redirects
 * followed when the route allows them, and one repeat with fresh credentials when the target
 * answers 401 to a token that may have been revoked (not counted as a retry: the second 401 is
 * the answer). Throws AttemptError, HOOKRELAY_ERR_AUTH_TOKEN or HOOKRELAY_ERR_REDIRECT_REFUSED.
 */
export async function sendAttempt(
  pool: TargetPool,
  base: OutboundRequest,
  presentation: Presentation,
  context: AttemptContext,
  hooks: AttemptHooks,
): Promise<TargetResponse> {
  let url = base.url;
  let refreshed = false;
  let hops = 0;
  for (;;) {
    const request = await present(base, url, presentation, context, hooks.deadline);
    const options = hooks.options();
    const started = performance.now();
    let response: TargetResponse;
    try {
      response = await exchangeReconnecting(pool, toAttempt(request), options, hooks, context);
    } catch (error) {
      if (error instanceof AttemptError && error.kind !== 'aborted') hooks.record(error, started);
      throw error;
    }
    hooks.record(response, started);
    const auth = presentation.auth;
    if (response.status === 401 && !refreshed && auth?.onUnauthorized) {
      refreshed = true;
      if (await auth.onUnauthorized(request)) {
        context.metrics.authUnauthorizedRetries.inc({ route: context.routeId });
        continue;
      }
      return response;
    }
    const next = redirectTarget(response, url, presentation.followRedirects, hops);
    if (next === undefined) return response;
    hops++;
    url = next;
  }
}

/**
 * One HTTP exchange, sent once more when the pooled connection was stale. A keep-alive connection the target closed while it sat idle fails the request
 * before any answer byte: the request never reached the target, so it is sent once more on a new
 * connection, whatever the retry policy says (a spurious 502 with `retry.attempts: 1` otherwise).
 */
async function exchangeReconnecting(
  pool: TargetPool,
  request: AttemptRequest,
  options: AttemptOptions,
  hooks: AttemptHooks,
  context: AttemptContext,
): Promise<TargetResponse> {
  try {
    return await exchange(pool, request, options);
  } catch (error) {
    if (!(error instanceof AttemptError) || error.kind !== 'network_error' || !isStaleConnection(error)) {
      throw error;
    }
  }
  context.metrics.forwardReconnects.inc({ route: context.routeId });
  const client = pool.fresh();
  try {
    return await exchange(client, request, hooks.options());
  } finally {
    client.close().catch(() => client.destroy());
  }
}
