import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CompiledRoute } from '../config/compile.ts';
import { HookrelayError } from '../errors.ts';
import type { RelayContext } from '../ingress/context.ts';
import { finish, finishError } from '../ingress/finish.ts';
import { asHookrelayError } from '../ingress/reply.ts';
import { releaseUnlessAccepted, verifyCaller } from '../ingress/verify.ts';
import type { StreamOutcome } from './exchange.ts';
import type { StreamProxy } from './proxy.ts';
import { markStreaming, unmarkStreaming } from './requests.ts';
import { type StreamInbound, streamOutbound } from './target.ts';

const EMPTY = Buffer.alloc(0);

export interface StreamRequestInfo {
  method: string;
  params: Record<string, string>;
  rawQuery: string;
  requestId: string;
  started: number;
  clientIp: string;
}

/**
 * A `delivery: stream` route: checks that need no body (shutdown, declared length, `verify`,
 * the target path, credentials), then the streamed exchange, then the same metrics and one
 * `request` log line as buffered routes. Any answer given before the body was read closes the
 * connection after draining the upload (bounded), so the caller reads it instead of a reset.
 */
export async function handleStream(
  ctx: RelayContext,
  proxy: StreamProxy,
  req: IncomingMessage,
  res: ServerResponse,
  route: CompiledRoute,
  info: StreamRequestInfo,
): Promise<void> {
  const { method, requestId, started } = info;
  // An answer given before the body was read closes the connection (src/ingress/response.ts).
  const refuse = (error: HookrelayError, extra: Record<string, unknown> = {}) => {
    finishError(ctx, res, error, route.id, method, requestId, started, {}, { attempts: 0, ...extra });
  };
  if (ctx.lifecycle.shuttingDown) {
    refuse(new HookrelayError('HOOKRELAY_ERR_SHUTTING_DOWN'));
    return;
  }
  const forward = route.forward!;
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > route.limits.body) {
    refuse(new HookrelayError('HOOKRELAY_ERR_BODY_TOO_LARGE', { limit: route.limits.body }));
    return;
  }
  if (route.verify.length > 0) {
    const verified = await verifyCaller(route, {
      method,
      url: req.url ?? '/',
      query: new URLSearchParams(info.rawQuery),
      headers: req.headers,
      body: EMPTY,
      remoteAddress: info.clientIp,
    });
    if ('refused' in verified) {
      const { refused } = verified;
      ctx.metrics.verifyFailures.inc({ route: route.id, verifier: refused.type, reason: refused.reason });
      refuse(refused.error, { detail: refused.detail });
      return;
    }
    if (verified.releases.length > 0) releaseUnlessAccepted(res, verified.releases);
  }
  const inbound: StreamInbound = { req, ...info };
  let outbound: ReturnType<typeof streamOutbound>;
  try {
    outbound = streamOutbound(forward, inbound, ctx.requestIdHeader);
    await forward.auth?.apply(outbound, {
      routeId: route.id,
      metrics: ctx.metrics,
      deadline: performance.now() + route.stream.idleTimeout,
    });
  } catch (error) {
    refuse(asHookrelayError(error));
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
        requestId,
        limit: route.limits.body,
        connectTimeout: route.timeouts.connect,
        idleTimeout: route.stream.idleTimeout,
        retryRefused: route.stream.retryRefused,
        bodyRate: ctx.bodyRate,
      },
      ctx.metrics,
    );
  } finally {
    unmarkStreaming(req);
  }
  record(ctx, res, route, info, outcome);
}

function record(
  ctx: RelayContext,
  res: ServerResponse,
  route: CompiledRoute,
  info: StreamRequestInfo,
  outcome: StreamOutcome,
): void {
  const { method, requestId, started } = info;
  const { attempts, bytesIn, bytesOut } = outcome;
  const fields = { attempts, bytesIn, bytesOut };
  ctx.metrics.bodyBytes.inc({ route: route.id }, bytesIn);
  ctx.metrics.responseBytes.inc({ route: route.id }, bytesOut);
  if (outcome.kind === 'error') {
    ctx.metrics.deliveries.inc({ route: route.id, result: 'failed' });
    finishError(
      ctx,
      res,
      outcome.error,
      route.id,
      method,
      requestId,
      started,
      {},
      {
        ...fields,
        result: 'failed',
      },
    );
    return;
  }
  if (outcome.kind === 'client-closed') {
    const error = new HookrelayError('HOOKRELAY_ERR_CLIENT_CLOSED');
    finishError(
      ctx,
      res,
      error,
      route.id,
      method,
      requestId,
      started,
      {},
      { ...fields, result: 'client-closed' },
    );
    return;
  }
  const { status, error } = outcome;
  const result = status >= 200 && status < 300 ? 'delivered' : 'rejected';
  ctx.metrics.deliveries.inc({ route: route.id, result });
  if (error) {
    // The status line is out: the failure can only be counted, logged, and the connection closed.
    ctx.metrics.errors.inc({ route: route.id, code: error.code });
    finish(ctx, route.id, method, status, requestId, started, {
      ...fields,
      result: 'aborted',
      code: error.code,
      error: error.message,
    });
    return;
  }
  finish(ctx, route.id, method, status, requestId, started, { ...fields, result });
}
