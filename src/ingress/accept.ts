import type { ServerResponse } from 'node:http';
import type { OutboundRequest } from '../auth/types.ts';
import type { CompiledRoute } from '../config/compile.ts';
import { SecretValues } from '../config/secret-values.ts';
import { HookrelayError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/index.ts';
import type { InboundMessage } from '../pipeline/message.ts';
import { templateScope } from '../pipeline/prepare.ts';
import { newDeliveryId } from '../queue/ids.ts';
import type { Offer } from '../queue/queue.ts';
import { storedRequest } from '../queue/stored-request.ts';
import type { NewDelivery } from '../queue/types.ts';
import { renderTemplate } from '../transforms/template.ts';
import { send } from './reply.ts';

/** What the accept path needs from the relay: the queue, the workers, and the shared finishers. */
export interface AcceptContext {
  requestIdHeader: string;
  queue: {
    /** Admission (with a reservation) and the durable write in one step; rejects on a storage error. */
    offer(delivery: NewDelivery): Promise<Offer>;
  };
  notify(routeId: string): void;
  metrics: Metrics;
  logger: Logger;
  /** Values of the configuration never stored (redacted from the URL kept for operators). */
  secrets?: SecretValues | undefined;
}

/** Seconds a caller is told to wait when the queue is full. */
const FULL_RETRY_AFTER = 10;

export interface Accepted {
  status: number;
  deliveryId: string | undefined;
  duplicate: boolean;
}

/**
 * Stores the prepared request durably and answers the caller: 202 with the delivery id, or the
 * route's `respond` block. The answer is sent only after the store confirmed durability; a
 * storage failure answers 503 and acknowledges nothing. Credentials, the configuration's fixed
 * header values and its part of the URL are not stored: workers apply them at each attempt.
 */
export async function acceptForDelivery(
  ctx: AcceptContext,
  res: ServerResponse,
  route: CompiledRoute,
  message: InboundMessage,
  outbound: OutboundRequest,
  value: unknown,
  options: { deliveryId?: string; attempts?: number; nextAttemptAt?: number } = {},
): Promise<Accepted> {
  const now = Date.now();
  const id = options.deliveryId ?? newDeliveryId(now);
  const key = dedupKey(route, message, value);
  let offer: Offer;
  try {
    offer = await ctx.queue.offer({
      id,
      routeId: route.id,
      requestId: message.requestId,
      // Nothing the configuration supplies is stored (stored-request.ts); the URL kept is for show.
      request: storedRequest(
        outbound,
        route.configHeaders,
        { params: message.params, rawQuery: message.rawQuery },
        (ctx.secrets ?? SecretValues.none).redact(outbound.url.toString()),
      ),
      createdAt: now,
      nextAttemptAt: options.nextAttemptAt ?? now,
      attempts: options.attempts ?? 0,
      dedup: key === undefined || !route.dedup ? undefined : { key, windowMs: route.dedup.windowMs },
    });
  } catch (error) {
    // Logged by the queue once per change of its state (a full disk refuses every caller); each
    // caller's own request line carries the reason.
    ctx.metrics.queueEnqueued.inc({ route: route.id, result: 'failed' });
    throw new HookrelayError(
      'HOOKRELAY_ERR_QUEUE_UNAVAILABLE',
      { reason: (error as Error).message },
      { cause: error },
    );
  }
  if (offer.kind === 'full') {
    ctx.metrics.queueEnqueued.inc({ route: route.id, result: 'full' });
    throw new HookrelayError('HOOKRELAY_ERR_QUEUE_FULL', {
      scope: offer.scope,
      limit: offer.limit,
      retryAfter: FULL_RETRY_AFTER,
    });
  }
  const duplicate = offer.kind === 'duplicate';
  // A duplicate is answered exactly as the first time, so a sender that retries is satisfied.
  const deliveryId = offer.kind === 'duplicate' ? offer.existingId : id;
  if (duplicate) {
    ctx.metrics.queueEnqueued.inc({ route: route.id, result: 'duplicate' });
    ctx.metrics.dedupDropped.inc({ route: route.id });
  } else {
    ctx.metrics.queueEnqueued.inc({ route: route.id, result: 'accepted' });
    ctx.notify(route.id);
  }
  const headers: Record<string, string> = {
    [ctx.requestIdHeader]: message.requestId,
    'x-hookrelay-delivery': deliveryId,
  };
  if (duplicate) headers['x-hookrelay-duplicate'] = 'true';
  if (route.respond) {
    const r = route.respond;
    const body =
      r.body === undefined
        ? ''
        : renderTemplate(r.body, templateScope(message, value, route.limits.jsonDepth));
    send(res, r.status, { ...r.headers, ...headers }, body);
    return { status: r.status, deliveryId, duplicate };
  }
  headers['content-type'] = 'application/json; charset=utf-8';
  const body = JSON.stringify({
    status: 'accepted',
    route: route.id,
    deliveryId,
    requestId: message.requestId,
    duplicate,
  });
  send(res, 202, headers, body);
  return { status: 202, deliveryId, duplicate };
}

function dedupKey(route: CompiledRoute, message: InboundMessage, value: unknown): string | undefined {
  const dedup = route.dedup;
  if (!dedup) return undefined;
  if (dedup.header) {
    const v = message.headers[dedup.header];
    const key = Array.isArray(v) ? v[0] : v;
    return key ? key : undefined;
  }
  if (dedup.field) {
    const key = renderTemplate(dedup.field, templateScope(message, value, route.limits.jsonDepth));
    return key ? key : undefined;
  }
  return undefined;
}

export { FULL_RETRY_AFTER };
