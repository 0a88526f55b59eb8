/**
 * A `delivery: stream` call once the shared stages admitted it, checked its declared length and
 * verified the caller without the body: the target request (URL, header hygiene, credentials),
 * the streamed exchange, then the same metrics and one `request` log line as buffered routes.
 */
import { HookrelayError } from '../../core/errors.ts';
import { type Call, done, fail } from '../../pipeline/call.ts';
import { asHookrelayError } from '../../pipeline/reply.ts';
import { markStreaming, unmarkStreaming } from '../../pipeline/streaming.ts';
import type { StreamOutcome } from './exchange.ts';
import type { StreamProxy } from './proxy.ts';
import type { StreamRoute } from './route.ts';
import { streamOutbound } from './target.ts';

export async function handleStream(call: Call<StreamRoute>, proxy: StreamProxy): Promise<void> {
  const { ctx, req, res, route } = call;
  const { forward } = route;
  let outbound: ReturnType<typeof streamOutbound>;
  try {
    outbound = streamOutbound(forward, call, ctx.requestIdHeader);
    await forward.auth?.apply(outbound, {
      routeId: route.id,
      metrics: ctx.metrics,
      deadline: performance.now() + route.stream.idleTimeout,
    });
  } catch (error) {
    // An answer given before the body was read closes the connection (src/ingress/response.ts).
    fail(call, asHookrelayError(error), {}, { attempts: 0 });
    return;
  }
  markStreaming(req);
  let outcome: StreamOutcome;
  try {
    outcome = await proxy.exchange(
      {
        routeId: route.id,
        req,
        res,
        url: outbound.url,
        method: outbound.method,
        headers: outbound.headers,
        agent: proxy.agents.get(forward.template.origin, forward.tls),
        requestIdHeader: ctx.requestIdHeader,
        requestId: call.requestId,
        limit: route.limits.body,
        connectTimeout: route.timeouts.connect,
        idleTimeout: route.stream.idleTimeout,
        retryRefused: route.stream.retryRefused,
        bodyRate: ctx.bodyRate,
        trace: call.span && ctx.tracing ? { tracer: ctx.tracing.current, parent: call.span } : undefined,
      },
      ctx.metrics,
    );
  } finally {
    unmarkStreaming(req);
  }
  record(call, outcome);
}

function record(call: Call<StreamRoute>, outcome: StreamOutcome): void {
  const { ctx, route } = call;
  const { attempts, bytesIn, bytesOut } = outcome;
  const fields = { attempts, bytesIn, bytesOut };
  ctx.metrics.bodyBytes.inc({ route: route.id }, bytesIn);
  ctx.metrics.responseBytes.inc({ route: route.id }, bytesOut);
  if (outcome.kind === 'error') {
    ctx.metrics.deliveries.inc({ route: route.id, result: 'failed' });
    fail(call, outcome.error, {}, { ...fields, result: 'failed' });
    return;
  }
  if (outcome.kind === 'client-closed') {
    fail(call, new HookrelayError('HOOKRELAY_ERR_CLIENT_CLOSED'), {}, { ...fields, result: 'client-closed' });
    return;
  }
  const { status, error } = outcome;
  const result = status >= 200 && status < 300 ? 'delivered' : 'rejected';
  ctx.metrics.deliveries.inc({ route: route.id, result });
  if (error) {
    // The status line is out: the failure can only be counted, logged, and the connection closed.
    ctx.metrics.errors.inc({ route: route.id, code: error.code });
    done(call, status, { ...fields, result: 'aborted', code: error.code, error: error.message });
    return;
  }
  done(call, status, { ...fields, result });
}
