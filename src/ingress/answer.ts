import type { ServerResponse } from 'node:http';
import { type CompiledRoute, stepLabel } from '../config/compile.ts';
import type { DeliveryOutcome } from '../delivery/dispatcher.ts';
import { HookrelayError } from '../errors.ts';
import { relayableResponseHeaders } from '../pipeline/headers.ts';
import type { InboundMessage } from '../pipeline/message.ts';
import { type Prepared, templateScope } from '../pipeline/prepare.ts';
import { runTransforms, StepError } from '../transforms/run.ts';
import { renderTemplate } from '../transforms/template.ts';
import { acceptForDelivery, FULL_RETRY_AFTER } from './accept.ts';
import type { RelayContext } from './context.ts';
import { finish, finishError } from './finish.ts';
import { asHookrelayError, send } from './reply.ts';

/** How the caller is answered once the target (or the queue) has spoken. */
export async function answer(
  ctx: RelayContext,
  res: ServerResponse,
  route: CompiledRoute,
  message: InboundMessage,
  outcome: DeliveryOutcome,
  started: number,
  value: unknown,
): Promise<void> {
  const { requestId, method } = message;
  const extra = { attempts: outcome.attempts, result: outcome.result };
  if (outcome.result === 'delivered' && route.respond) {
    const r = route.respond;
    const body =
      r.body === undefined
        ? ''
        : renderTemplate(r.body, templateScope(message, value, route.limits.jsonDepth));
    send(res, r.status, { ...r.headers, [ctx.requestIdHeader]: requestId }, body);
    finish(ctx, route.id, method, r.status, requestId, started, extra);
    return;
  }
  if (outcome.response?.truncated && (outcome.result === 'delivered' || outcome.result === 'rejected')) {
    // The answer was larger than limits.response: its status is known, its body is not relayable.
    // A 2xx is a delivery, and the caller must be told so, not handed a 5xx (it would send the
    // request again) nor a cut-off body.
    const params = { status: outcome.response.status, limit: route.limits.response };
    const error =
      outcome.result === 'delivered'
        ? new HookrelayError('HOOKRELAY_ERR_DELIVERED_RESPONSE_TOO_LARGE', params)
        : new HookrelayError('HOOKRELAY_ERR_UPSTREAM_RESPONSE_TOO_LARGE', params);
    finishError(ctx, res, error, route.id, method, requestId, started, {}, extra);
    return;
  }
  if (outcome.result === 'delivered' && outcome.response && route.responseTransform.length > 0) {
    await answerTransformed(ctx, res, route, message, outcome, started);
    return;
  }
  if ((outcome.result === 'delivered' || outcome.result === 'rejected') && outcome.response) {
    const { status, headers, body } = outcome.response;
    const relayed = relayableResponseHeaders(headers);
    relayed[ctx.requestIdHeader] = requestId;
    send(res, status, relayed, body);
    finish(ctx, route.id, method, status, requestId, started, extra);
    return;
  }
  const error = outcome.error ?? new HookrelayError('HOOKRELAY_ERR_INTERNAL');
  finishError(ctx, res, error, route.id, method, requestId, started, {}, extra);
}

export async function acceptAndFinish(
  ctx: RelayContext,
  res: ServerResponse,
  route: CompiledRoute,
  message: InboundMessage,
  prepared: Prepared,
  started: number,
  options: { deliveryId?: string | undefined; attempts?: number; nextAttemptAt?: number },
): Promise<void> {
  const { method, requestId } = message;
  if (!ctx.accept) throw new Error(`route '${route.id}' is ${route.delivery} but no queue is running`);
  try {
    const accepted = await acceptForDelivery(
      ctx.accept,
      res,
      route,
      message,
      prepared.outbound,
      prepared.value,
      {
        ...(options.deliveryId ? { deliveryId: options.deliveryId } : {}),
        ...(options.attempts !== undefined ? { attempts: options.attempts } : {}),
        ...(options.nextAttemptAt !== undefined ? { nextAttemptAt: options.nextAttemptAt } : {}),
      },
    );
    finish(ctx, route.id, method, accepted.status, requestId, started, {
      attempts: options.attempts ?? 0,
      result: accepted.duplicate ? 'duplicate' : 'queued',
      deliveryId: accepted.deliveryId,
    });
  } catch (error) {
    const err = asHookrelayError(error);
    const headers: Record<string, string> =
      err.code === 'HOOKRELAY_ERR_QUEUE_FULL' ? { 'retry-after': String(FULL_RETRY_AFTER) } : {};
    finishError(ctx, res, err, route.id, method, requestId, started, headers, {
      attempts: options.attempts ?? 0,
    });
  }
}

/** A 2xx target answer reshaped by the route's response steps before the caller gets it. */
async function answerTransformed(
  ctx: RelayContext,
  res: ServerResponse,
  route: CompiledRoute,
  message: InboundMessage,
  outcome: DeliveryOutcome,
  started: number,
): Promise<void> {
  const { requestId, method } = message;
  const response = outcome.response!;
  const extra = { attempts: outcome.attempts, result: outcome.result };
  const type = response.headers['content-type'];
  const payload = {
    kind: 'bytes' as const,
    bytes: response.body,
    contentType: Array.isArray(type) ? type[0] : type,
  };
  try {
    const result = await runTransforms(route.responseTransform, message, payload, route.limits);
    const headers = relayableResponseHeaders(response.headers);
    delete headers['content-encoding'];
    if (result.contentType) headers['content-type'] = result.contentType;
    else delete headers['content-type'];
    for (const name in result.setHeaders) headers[name] = result.setHeaders[name]!;
    for (const name of result.removeHeaders) delete headers[name];
    headers[ctx.requestIdHeader] = requestId;
    send(res, response.status, headers, result.body);
    finish(ctx, route.id, method, response.status, requestId, started, extra);
  } catch (error) {
    if (!(error instanceof StepError)) throw error;
    ctx.metrics.transformErrors.inc({ route: route.id, step: stepLabel(error.step) });
    // The target took the request: say so, so nobody re-sends it believing it was lost.
    const err = new HookrelayError('HOOKRELAY_ERR_RESPONSE_TRANSFORM_FAILED', { reason: error.message });
    finishError(ctx, res, err, route.id, method, requestId, started, {}, { ...extra, step: error.step.name });
  }
}
