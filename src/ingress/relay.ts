import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type CompiledRoute, stepLabel } from '../config/compile.ts';
import type { Clients } from '../delivery/client.ts';
import { type DeliveryOutcome, deliver } from '../delivery/dispatcher.ts';
import { retryDelay } from '../delivery/policy.ts';
import { HookrelayError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { type Metrics, methodLabel, NO_ROUTE } from '../metrics/index.ts';
import { relayableResponseHeaders } from '../pipeline/headers.ts';
import type { InboundMessage } from '../pipeline/message.ts';
import { type Prepared, prepareOutbound, templateScope } from '../pipeline/prepare.ts';
import { newDeliveryId } from '../queue/ids.ts';
import { runTransforms, StepError } from '../transforms/run.ts';
import { renderTemplate } from '../transforms/template.ts';
import { type AcceptContext, acceptForDelivery, FULL_RETRY_AFTER } from './accept.ts';
import { readBody } from './body.ts';
import { echoBody } from './echo.ts';
import { asHookrelayError, send, sendError } from './reply.ts';
import type { Match } from './router.ts';

export interface RelayContext {
  /** Present when some route delivers asynchronously (async or hybrid). */
  accept?: AcceptContext | undefined;
  match: (method: string, path: string) => Match<CompiledRoute>;
  metrics: Metrics;
  logger: Logger;
  clients: Clients;
  requestIdHeader: string;
  lifecycle: { shuttingDown: boolean; begin(): void; end(): void };
}

/** Shared by every request without a query string; nothing mutates a message's query. */
const NO_QUERY = new URLSearchParams();

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

// A caller-supplied id is kept when it is a plain token of sane length; otherwise we mint one.
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdOf(req: IncomingMessage, header: string): string {
  const given = req.headers[header];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

export function clientIpOf(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** The hot path: route match, raw body, pipeline, delivery, answer. Unmatched paths go to `fallback`. */
export function createRelayHandler(ctx: RelayContext, fallback: Handler): Handler {
  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    const match = ctx.match(method, path);
    if (match.kind === 'not-found') {
      fallback(req, res);
      return;
    }
    const started = performance.now();
    const requestId = requestIdOf(req, ctx.requestIdHeader);
    if (match.kind === 'method-not-allowed') {
      const allow = match.allow.join(', ');
      const error = new HookrelayError('HOOKRELAY_ERR_METHOD_NOT_ALLOWED', { allow, method });
      finishError(ctx, res, error, match.route.id, method, requestId, started, { allow });
      return;
    }
    const { route, params } = match;
    const rawQuery = q === -1 ? '' : url.slice(q + 1);
    ctx.lifecycle.begin();
    ctx.metrics.inFlight.inc({ route: route.id });
    handle(ctx, req, res, route, { method, path, params, rawQuery, requestId, started })
      .catch((error) => {
        finishError(ctx, res, asHookrelayError(error), route.id, method, requestId, started);
      })
      .finally(() => {
        ctx.metrics.inFlight.dec({ route: route.id });
        ctx.lifecycle.end();
      });
  };
}

interface RequestInfo {
  method: string;
  path: string;
  params: Record<string, string>;
  rawQuery: string;
  requestId: string;
  started: number;
}

async function handle(
  ctx: RelayContext,
  req: IncomingMessage,
  res: ServerResponse,
  route: CompiledRoute,
  info: RequestInfo,
): Promise<void> {
  const { method, requestId, started } = info;
  if (ctx.lifecycle.shuttingDown) {
    const error = new HookrelayError('HOOKRELAY_ERR_SHUTTING_DOWN');
    finishError(ctx, res, error, route.id, method, requestId, started, { connection: 'close' });
    return;
  }
  let body: Buffer;
  try {
    body = await readBody(req, route.limits.body);
  } catch (error) {
    const err = asHookrelayError(error);
    // The rest of an oversized upload is not read: close the connection after answering.
    finishError(ctx, res, err, route.id, method, requestId, started, { connection: 'close' });
    return;
  }
  ctx.metrics.bodyBytes.inc({ route: route.id }, body.length);
  const message: InboundMessage = {
    requestId,
    routeId: route.id,
    method,
    path: info.path,
    params: info.params,
    query: info.rawQuery ? new URLSearchParams(info.rawQuery) : NO_QUERY,
    rawQuery: info.rawQuery,
    headers: req.headers,
    body,
    clientIp: clientIpOf(req),
    receivedAt: Date.now(),
  };

  if (route.echo || !route.forward) {
    const headers = { 'content-type': 'application/json; charset=utf-8', [ctx.requestIdHeader]: requestId };
    send(res, 200, headers, echoBody(message));
    finish(ctx, route.id, method, 200, requestId, started, { attempts: 0, result: 'echo' });
    return;
  }

  const forward = route.forward;
  let prepared: Prepared;
  try {
    prepared = await prepareOutbound(route, message, ctx.requestIdHeader);
  } catch (error) {
    if (!(error instanceof StepError)) throw error;
    ctx.metrics.transformErrors.inc({ route: route.id, step: stepLabel(error.step) });
    finishError(ctx, res, error.error, route.id, method, requestId, started, {}, { step: error.step.name });
    return;
  }
  const outbound = prepared.outbound;
  if (route.delivery === 'async') {
    await acceptAndFinish(ctx, res, route, message, prepared, started, {});
    return;
  }
  let deliveryId: string | undefined;
  if (route.delivery === 'hybrid') {
    // The id travels on the synchronous attempts too, so a target that saw one of them can drop
    // the queued retry that follows when the budget runs out mid-request.
    deliveryId = newDeliveryId();
    for (const name of route.queue.idHeaders) outbound.headers[name.toLowerCase()] = deliveryId;
  }
  const callerGone = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) callerGone.abort();
  };
  res.once('close', onClose);
  const outcome = await deliver(
    {
      routeId: route.id,
      pool: ctx.clients.get(forward.template.origin, route.timeouts.connect),
      request: outbound,
      auth: forward.auth,
      retry: route.retry,
      timeouts:
        route.delivery === 'hybrid'
          ? { attempt: Math.min(route.timeouts.attempt, route.hybridBudget), deadline: route.hybridBudget }
          : route.timeouts,
      responseLimit: route.limits.response,
      signal: callerGone.signal,
    },
    ctx.metrics,
  );
  res.off('close', onClose);
  if (
    route.delivery === 'hybrid' &&
    (outcome.result === 'failed' || outcome.result === 'deadline') &&
    outcome.error?.code !== 'HOOKRELAY_ERR_UPSTREAM_RESPONSE_TOO_LARGE'
  ) {
    // Not delivered within the budget, but retryable: hand it to the queue and acknowledge.
    const nextAttemptAt = Date.now() + retryDelay(Math.max(1, outcome.attempts), route.retry, undefined);
    await acceptAndFinish(ctx, res, route, message, prepared, started, {
      deliveryId,
      attempts: outcome.attempts,
      nextAttemptAt,
    });
    return;
  }
  await answer(ctx, res, route, message, outcome, started, prepared.value);
}

async function answer(
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
    const body = r.body === undefined ? '' : renderTemplate(r.body, templateScope(message, value));
    send(res, r.status, { ...r.headers, [ctx.requestIdHeader]: requestId }, body);
    finish(ctx, route.id, method, r.status, requestId, started, extra);
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

async function acceptAndFinish(
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
    const result = await runTransforms(route.responseTransform, message, payload);
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

function finishError(
  ctx: RelayContext,
  res: ServerResponse,
  error: HookrelayError,
  route: string | null,
  method: string,
  requestId: string,
  started: number,
  headers: Record<string, string> = {},
  extra: Record<string, unknown> = {},
): void {
  sendError(res, error, route, requestId, ctx.requestIdHeader, headers);
  const routeLabel = route ?? NO_ROUTE;
  ctx.metrics.errors.inc({ route: routeLabel, code: error.code });
  const fields = { ...extra, code: error.code, error: error.message };
  if (error.code === 'HOOKRELAY_ERR_INTERNAL') {
    ctx.logger.error({ err: error.cause }, 'internal error');
  }
  finish(ctx, routeLabel, method, error.status, requestId, started, fields);
}

function finish(
  ctx: RelayContext,
  route: string,
  method: string,
  status: number,
  requestId: string,
  started: number,
  fields: Record<string, unknown>,
): void {
  const seconds = (performance.now() - started) / 1000;
  const methodName = methodLabel(method);
  ctx.metrics.requests.inc({ route, method: methodName, status: String(status) });
  ctx.metrics.requestDuration.observe({ route, method: methodName }, seconds);
  const level = status >= 500 ? 'warn' : 'info';
  ctx.logger[level](
    // attempts: 0 unless the caller reached the target; every request line has the same fields.
    { requestId, route, method, status, attempts: 0, durationMs: Math.round(seconds * 1e6) / 1e3, ...fields },
    'request',
  );
}
