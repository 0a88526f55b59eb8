/**
 * An async fan-out route's call: one delivery stored per chosen target, and the caller
 * acknowledged (202 with every delivery id, or the route's `respond`) only once all of them are
 * stored. When one could not be stored the caller gets 503 and retries; see copies.ts.
 */
import type { InboundMessage } from '../../core/message.ts';
import { type Call, done, fail } from '../../pipeline/call.ts';
import type { Prepared } from '../../pipeline/prepare.ts';
import { asHookrelayError, send } from '../../pipeline/reply.ts';
import { renderRespond } from '../../pipeline/respond.ts';
import type { AsyncRoute } from '../async/route.ts';
import type { ModeServices } from '../types.ts';
import { answerUnmatched, chooseTargets } from './choose.ts';
import { prepareCopies, type StoredCopy, storeCopies } from './copies.ts';
import type { Fanout } from './targets.ts';

export async function acceptFanout(
  call: Call<AsyncRoute>,
  fanout: Fanout,
  message: InboundMessage,
  prepared: Prepared,
  services: ModeServices,
): Promise<void> {
  let stored: StoredCopy[];
  try {
    const chosen = await chooseTargets(call.route, fanout, message, prepared);
    if (chosen.length === 0) return answerUnmatched(call, message);
    const copies = await prepareCopies(call, chosen, message, prepared);
    if (!copies) return;
    stored = await storeCopies(copies, message, prepared, services, call.span?.carrier());
  } catch (error) {
    fail(call, asHookrelayError(error), {}, { attempts: 0 });
    return;
  }
  const { route, res, ctx } = call;
  const duplicate = stored.every((s) => s.duplicate);
  const ids = stored.map((s) => s.deliveryId).join(', ');
  const headers: Record<string, string> = {
    [ctx.requestIdHeader]: message.requestId,
    'x-hookrelay-delivery': ids,
  };
  if (duplicate) headers['x-hookrelay-duplicate'] = 'true';
  let status = 202;
  if (route.respond) {
    const r = renderRespond(route.respond, route.limits.jsonDepth, message, prepared.value, headers);
    status = r.status;
    send(res, r.status, r.headers, r.body);
  } else {
    headers['content-type'] = 'application/json; charset=utf-8';
    const deliveries = stored.map((s) => ({
      target: s.target,
      deliveryId: s.deliveryId,
      duplicate: s.duplicate,
    }));
    const body = JSON.stringify({
      status: 'accepted',
      route: route.id,
      requestId: message.requestId,
      duplicate,
      deliveries,
    });
    send(res, 202, headers, body);
  }
  done(call, status, {
    attempts: 0,
    result: duplicate ? 'duplicate' : 'queued',
    deliveryId: ids,
    targets: stored.map((s) => s.target),
  });
}
