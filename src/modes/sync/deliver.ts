/**
 * One synchronous delivery of a prepared call: retries within the deadline on the target's pool,
 * cut short when the caller goes away. Used by `sync` routes and the synchronous phase of `hybrid`.
 */
import type { Clients } from '../../delivery/client.ts';
import { type DeliveryOutcome, deliver } from '../../delivery/deliver.ts';
import type { Call } from '../../pipeline/call.ts';
import type { Prepared } from '../../pipeline/prepare.ts';
import type { BufferedRoute } from '../../pipeline/route.ts';

export interface DeliverOptions {
  /** Signed as the message id: the same on every attempt. */
  id: string;
  timeouts: { attempt: number; deadline: number };
}

export async function deliverNow(
  call: Call<BufferedRoute>,
  prepared: Prepared,
  clients: Clients,
  options: DeliverOptions,
): Promise<DeliveryOutcome> {
  const { route, res } = call;
  const forward = route.forward;
  const callerGone = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) callerGone.abort();
  };
  res.once('close', onClose);
  try {
    return await deliver(
      {
        routeId: route.id,
        pool: clients.get(forward.template.origin, route.timeouts.connect, forward.tls),
        request: prepared.outbound,
        presentation: forward,
        id: options.id,
        retry: route.retry,
        timeouts: options.timeouts,
        responseLimit: route.limits.response,
        signal: callerGone.signal,
        trace:
          call.span && call.ctx.tracing ? { tracer: call.ctx.tracing.current, parent: call.span } : undefined,
      },
      call.ctx.metrics,
    );
  } finally {
    res.off('close', onClose);
  }
}
