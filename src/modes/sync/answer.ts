/**
 * How the caller of a synchronous delivery is answered once the target has spoken: the route's
 * `respond` block, the target's answer (reshaped by `response.transform`), or a JSON error.
 */
import { HookrelayError } from '../../core/errors.ts';
import { relayableResponseHeaders } from '../../core/headers.ts';
import type { InboundMessage } from '../../core/message.ts';
import type { DeliveryOutcome } from '../../delivery/deliver.ts';
import { type Call, done, fail } from '../../pipeline/call.ts';
import { failureAnswer } from '../../pipeline/failure-answer.ts';
import { send } from '../../pipeline/reply.ts';
import { renderRespond } from '../../pipeline/respond.ts';
import { runTransforms, StepError, stepLabel } from '../../transforms/run.ts';
import type { AnsweringRoute } from './route.ts';

/** A promise only when response steps run; otherwise the answer is written before it returns. */
export function answer(
  call: Call<AnsweringRoute>,
  message: InboundMessage,
  outcome: DeliveryOutcome,
  value: unknown,
): Promise<void> | undefined {
  const { route, res, ctx } = call;
  const fields = { attempts: outcome.attempts, result: outcome.result };
  if (outcome.result === 'delivered' && route.respond) {
    const r = renderRespond(route.respond, route.limits.jsonDepth, message, value, {
      [ctx.requestIdHeader]: call.requestId,
    });
    send(res, r.status, r.headers, r.body);
    done(call, r.status, fields);
    return;
  }
  const response = outcome.response;
  if (response?.truncated && (outcome.result === 'delivered' || outcome.result === 'rejected')) {
    // The answer was larger than limits.response: its status is known, its body is not relayable.
    // A 2xx is a delivery, and the caller must be told so, not handed a 5xx (it would send the
    // request again) nor a cut-off body.
    const params = { status: response.status, limit: route.limits.response };
    const error =
      outcome.result === 'delivered'
        ? new HookrelayError('HOOKRELAY_ERR_DELIVERED_RESPONSE_TOO_LARGE', params)
        : new HookrelayError('HOOKRELAY_ERR_UPSTREAM_RESPONSE_TOO_LARGE', params);
    fail(call, error, {}, fields);
    return;
  }
  if (outcome.result === 'delivered' && response && route.responseTransform.length > 0) {
    return answerTransformed(call, message, outcome, response);
  }
  if (outcome.result === 'rejected' && response && route.onError.length > 0) {
    // The route shapes what the caller reads of a refusal (its `onError`), e.g. the target's message.
    const failure = {
      code: undefined,
      message: `the target answered ${response.status}`,
      status: response.status,
      response,
    };
    const shaped = failureAnswer(route.onError, failure, call, route.limits.jsonDepth);
    if (shaped) {
      send(res, shaped.status, { ...shaped.headers, [ctx.requestIdHeader]: call.requestId }, shaped.body);
      done(call, shaped.status, fields);
      return;
    }
  }
  if ((outcome.result === 'delivered' || outcome.result === 'rejected') && response) {
    const relayed = relayableResponseHeaders(response.headers);
    relayed[ctx.requestIdHeader] = call.requestId;
    send(res, response.status, relayed, response.body);
    done(call, response.status, fields);
    return;
  }
  fail(call, outcome.error ?? new HookrelayError('HOOKRELAY_ERR_INTERNAL'), {}, fields);
}

/** A 2xx target answer reshaped by the route's response steps before the caller gets it. */
async function answerTransformed(
  call: Call<AnsweringRoute>,
  message: InboundMessage,
  outcome: DeliveryOutcome,
  response: NonNullable<DeliveryOutcome['response']>,
): Promise<void> {
  const { route, ctx } = call;
  const fields = { attempts: outcome.attempts, result: outcome.result };
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
    headers[ctx.requestIdHeader] = call.requestId;
    send(call.res, response.status, headers, result.body);
    done(call, response.status, fields);
  } catch (error) {
    if (!(error instanceof StepError)) throw error;
    ctx.metrics.transformErrors.inc({ route: route.id, step: stepLabel(error.step) });
    // The target took the request: say so, so nobody re-sends it believing it was lost.
    const err = new HookrelayError('HOOKRELAY_ERR_RESPONSE_TRANSFORM_FAILED', { reason: error.message });
    fail(call, err, {}, { ...fields, step: error.step.name });
  }
}
