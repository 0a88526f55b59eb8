import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type CompiledRoute, stepLabel } from '../config/compile.ts';
import { deliver } from '../delivery/dispatcher.ts';
import { retryDelay } from '../delivery/policy.ts';
import { HookrelayError } from '../errors.ts';
import type { InboundMessage } from '../pipeline/message.ts';
import { type Prepared, prepareOutbound } from '../pipeline/prepare.ts';
import { newDeliveryId } from '../queue/ids.ts';
import { handleStream } from '../stream/handler.ts';
import { StreamProxy } from '../stream/proxy.ts';
import { StepError } from '../transforms/run.ts';
import { acceptAndFinish, answer } from './answer.ts';
import { readBody } from './body.ts';
import type { RelayContext } from './context.ts';
import { echoBody } from './echo.ts';
import { finish, finishError } from './finish.ts';
import { asHookrelayError, send } from './reply.ts';
import { releaseUnlessAccepted, verifyCaller } from './verify.ts';

export type { RelayContext } from './context.ts';

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
  // Embedders that build a context without one get their own (its idle sockets time out by themselves).
  const streams = ctx.streams ?? new StreamProxy();
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
    ctx.lifecycle.begin(req);
    ctx.metrics.inFlight.inc({ route: route.id });
    // A stream route takes the request before anything reads its body.
    const handled =
      route.delivery === 'stream'
        ? handleStream(ctx, streams, req, res, route, {
            method,
            params,
            rawQuery,
            requestId,
            started,
            clientIp: clientIpOf(req),
          })
        : handle(ctx, req, res, route, { method, path, params, rawQuery, requestId, started });
    handled
      .catch((error) => {
        finishError(ctx, res, asHookrelayError(error), route.id, method, requestId, started);
      })
      .finally(() => {
        ctx.metrics.inFlight.dec({ route: route.id });
        ctx.lifecycle.end(req);
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
  // Answers given before the body was read, or during the shutdown, close the connection
  // (response.ts); what the caller still sends is drained, not stored, so it reads the answer.
  if (ctx.lifecycle.shuttingDown) {
    const error = new HookrelayError('HOOKRELAY_ERR_SHUTTING_DOWN');
    finishError(ctx, res, error, route.id, method, requestId, started);
    return;
  }
  let body: Buffer;
  try {
    body = await readBody(req, route.limits.body, ctx.bodyRate);
  } catch (error) {
    // Too large, too slow, gone or broken: nothing more of it is read.
    finishError(ctx, res, asHookrelayError(error), route.id, method, requestId, started);
    return;
  }
  ctx.metrics.bodyBytes.inc({ route: route.id }, body.length);
  if (route.verify.length > 0) {
    const verified = await verifyCaller(route, {
      method,
      url: req.url ?? '/',
      query: info.rawQuery ? new URLSearchParams(info.rawQuery) : NO_QUERY,
      headers: req.headers,
      body,
      remoteAddress: clientIpOf(req),
    });
    if ('refused' in verified) {
      const { refused } = verified;
      ctx.metrics.verifyFailures.inc({ route: route.id, verifier: refused.type, reason: refused.reason });
      // The reason is a bounded word; the detail names what was missing or wrong, never the secret.
      finishError(
        ctx,
        res,
        refused.error,
        route.id,
        method,
        requestId,
        started,
        {},
        { detail: refused.detail },
      );
      return;
    }
    if (verified.releases.length > 0) releaseUnlessAccepted(res, verified.releases);
  }
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
    send(res, 200, headers, echoBody(message, ctx.secrets));
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
      pool: ctx.clients.get(forward.template.origin, route.timeouts.connect, forward.tls),
      request: outbound,
      presentation: forward,
      id: deliveryId ?? requestId,
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
    outcome.error?.retryable !== false
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
