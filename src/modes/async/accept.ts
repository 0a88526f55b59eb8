/**
 * Stores a prepared call durably and answers the caller: 202 with the delivery id, or the route's
 * `respond` block. The answer is sent only after the store confirmed durability; a storage
 * failure answers 503 and acknowledges nothing. Credentials, the configuration's fixed header
 * values and its part of the URL are not stored: workers apply them at each attempt.
 */

import { HookrelayError } from '../../core/errors.ts';
import type { InboundMessage } from '../../core/message.ts';
import { renderTemplate } from '../../core/text-template.ts';
import { type Call, done, fail } from '../../pipeline/call.ts';
import { type Prepared, templateScope } from '../../pipeline/prepare.ts';
import { asHookrelayError, send } from '../../pipeline/reply.ts';
import { renderRespond } from '../../pipeline/respond.ts';
import { newDeliveryId } from '../../queue/ids.ts';
import type { Offer } from '../../queue/queue.ts';
import { storedRequest } from '../../queue/stored-request.ts';
import type { TraceCarrier } from '../../telemetry/tracing.ts';
import type { ModeServices, QueueAccess } from '../types.ts';
import type { QueuedRoute } from './route.ts';

/** Seconds a caller is told to wait when the queue is full. */
export const FULL_RETRY_AFTER = 10;
/** Retry-After (s) when the store refused a write (a full disk, Redis down or slow): short, as it may be back soon. */
export const UNAVAILABLE_RETRY_AFTER = 5;

export interface AcceptOptions {
  /** The id the synchronous attempts of a hybrid route already carried. */
  deliveryId?: string | undefined;
  /** Attempts already made (hybrid), counted toward maxAttempts. */
  attempts?: number;
  /** When the first queued attempt may run (hybrid: after its backoff); default now. */
  nextAttemptAt?: number;
  /** The accepting call's span context, stored with the delivery (tracing on). */
  trace?: TraceCarrier | undefined;
}

/** Stores the call and answers it, with its metrics and one `request` line. */
export async function acceptCall(
  call: Call<QueuedRoute>,
  message: InboundMessage,
  prepared: Prepared,
  services: ModeServices,
  options: AcceptOptions = {},
): Promise<void> {
  const attempts = options.attempts ?? 0;
  const { queue } = services;
  if (!queue) throw new Error(`route '${call.route.id}' is ${call.route.delivery} but no queue is running`);
  try {
    const accepted = await store(call, message, prepared, services, queue, options);
    done(call, accepted.status, {
      attempts,
      result: accepted.duplicate ? 'duplicate' : 'queued',
      deliveryId: accepted.deliveryId,
    });
  } catch (error) {
    // The queue's refusals carry `retryAfter`, which the answer sends as Retry-After.
    fail(call, asHookrelayError(error), {}, { attempts });
  }
}

interface Accepted {
  status: number;
  deliveryId: string;
  duplicate: boolean;
}

async function store(
  call: Call<QueuedRoute>,
  message: InboundMessage,
  prepared: Prepared,
  services: ModeServices,
  queue: QueueAccess,
  options: AcceptOptions,
): Promise<Accepted> {
  const { route, res } = call;
  const { value } = prepared;
  const { deliveryId, duplicate } = await storeDelivery(route, message, prepared, services, queue, {
    ...options,
    trace: call.span?.carrier(),
  });
  const headers: Record<string, string> = {
    [call.ctx.requestIdHeader]: message.requestId,
    'x-hookrelay-delivery': deliveryId,
  };
  if (duplicate) headers['x-hookrelay-duplicate'] = 'true';
  if (route.respond) {
    const r = renderRespond(route.respond, route.limits.jsonDepth, message, value, headers);
    send(res, r.status, r.headers, r.body);
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

/** A delivery stored (or found stored already, by `dedup`). */
export interface Stored {
  deliveryId: string;
  duplicate: boolean;
}

/**
 * Offers one delivery of `route` to the queue and counts it; throws the HookrelayError the caller
 * is answered with when it could not be stored (full: 503 with Retry-After; a storage error: 503).
 * Shared with fan-out (modes/fanout/), which stores one delivery per target. `dedupValue`: the
 * body the `dedup.field` is read from (default: the prepared one).
 */
export async function storeDelivery(
  route: QueuedRoute,
  message: InboundMessage,
  prepared: Prepared,
  services: ModeServices,
  queue: QueueAccess,
  options: AcceptOptions & { dedupValue?: unknown } = {},
): Promise<Stored> {
  const { metrics, secrets } = services;
  const { outbound } = prepared;
  const now = Date.now();
  const id = options.deliveryId ?? newDeliveryId(now);
  const key = dedupKey(route, message, 'dedupValue' in options ? options.dedupValue : prepared.value);
  let offer: Offer;
  try {
    offer = await queue.offer({
      id,
      routeId: route.id,
      requestId: message.requestId,
      // Nothing the configuration supplies is stored (stored-request.ts); the URL kept is for show.
      request: storedRequest(
        outbound,
        route.configHeaders,
        { params: message.params, rawQuery: message.rawQuery },
        secrets.redact(outbound.url.toString()),
      ),
      createdAt: now,
      nextAttemptAt: options.nextAttemptAt ?? now,
      attempts: options.attempts ?? 0,
      dedup: key === undefined || !route.dedup ? undefined : { key, windowMs: route.dedup.windowMs },
      ...(options.trace ? { trace: options.trace } : {}),
    });
  } catch (error) {
    // Logged by the queue once per change of its state (a full disk refuses every caller); each
    // caller's own request line carries the reason.
    metrics.queueEnqueued.inc({ route: route.id, result: 'failed' });
    throw new HookrelayError(
      'HOOKRELAY_ERR_QUEUE_UNAVAILABLE',
      { reason: (error as Error).message, retryAfter: UNAVAILABLE_RETRY_AFTER },
      { cause: error },
    );
  }
  if (offer.kind === 'full') {
    metrics.queueEnqueued.inc({ route: route.id, result: 'full' });
    throw new HookrelayError('HOOKRELAY_ERR_QUEUE_FULL', {
      scope: offer.scope,
      limit: offer.limit,
      retryAfter: FULL_RETRY_AFTER,
    });
  }
  // A duplicate is answered exactly as the first time, so a sender that retries is satisfied.
  if (offer.kind === 'duplicate') {
    metrics.queueEnqueued.inc({ route: route.id, result: 'duplicate' });
    metrics.dedupDropped.inc({ route: route.id });
    return { deliveryId: offer.existingId, duplicate: true };
  }
  metrics.queueEnqueued.inc({ route: route.id, result: 'accepted' });
  queue.notify(route.id);
  return { deliveryId: id, duplicate: false };
}

function dedupKey(route: QueuedRoute, message: InboundMessage, value: unknown): string | undefined {
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
