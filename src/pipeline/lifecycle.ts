/**
 * The request lifecycle, as docs/lifecycle.md draws it: a call is matched to a route, admitted,
 * its body read (or, on a streamed route, only its declared length checked), the caller verified,
 * the body transformed into the request for the target, and then the route's delivery mode
 * (modes/) takes it: deliver and answer (sync), store and acknowledge (async), both (hybrid), proxy
 * (stream) or describe it (echo). A stage that refuses the call ends it here, with its JSON error.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HookrelayError } from '../core/errors.ts';
import type { RoutePath } from '../core/route-path.ts';
import type { Tracer } from '../telemetry/tracing.ts';
import { type Call, clientIpOf, done, fail, inboundMessage, requestIdOf } from './call.ts';
import type { RelayContext } from './context.ts';
import { finishError } from './finish.ts';
import { handshake } from './handshake.ts';
import type { DeliveryMode } from './mode.ts';
import { asHookrelayError, send } from './reply.ts';
import type { BufferedRoute } from './route.ts';
import { admit, body, declaredLength, prepare, type StageResult, verifies, verify } from './stages.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** The stages of one call, in order; each returns what the next needs, or the call ends. */
async function stages(call: Call, mode: DeliveryMode): Promise<void> {
  const admitted = admit(call);
  if (admitted.kind !== 'continue') return end(call, admitted);
  if (mode.takes === 'stream') {
    const declared = declaredLength(call);
    if (declared.kind !== 'continue') return end(call, declared);
    if (verifies(call)) {
      const verified = await verify(call, declared.value);
      if (verified.kind !== 'continue') return end(call, verified);
    }
    return await mode.handle(call);
  }
  const read = await body(call);
  if (read.kind !== 'continue') return end(call, read);
  const shake = call.route.handshake;
  if (shake) {
    const early = handshake(call, read.value, false);
    if (early.kind !== 'continue') return end(call, early);
  }
  if (verifies(call)) {
    const verified = await verify(call, read.value);
    if (verified.kind !== 'continue') return end(call, verified);
  }
  if (shake?.handshake.signed) {
    const late = handshake(call, read.value, true);
    if (late.kind !== 'continue') return end(call, late);
  }
  const message = inboundMessage(call, read.value);
  call.message = message;
  if (mode.takes === 'message') return await mode.handle(call, message);
  const buffered = call as Call<BufferedRoute>;
  const prepared = await prepare(buffered, message);
  if (prepared.kind !== 'continue') return end(call, prepared);
  call.value = prepared.value.value;
  return await mode.handle(buffered, message, prepared.value);
}

/**
 * A stage ended the call: its own answer, or its error (an answer given before the body was read
 * closes the connection). Either way the call has one `request` log line and its metrics.
 */
function end(call: Call, result: Exclude<StageResult<unknown>, { kind: 'continue' }>): void {
  if (result.kind === 'fail') {
    fail(call, result.error, result.headers, result.fields);
    return;
  }
  const { answer } = result;
  send(
    call.res,
    answer.status,
    { ...answer.headers, [call.ctx.requestIdHeader]: call.requestId },
    answer.body,
  );
  done(call, answer.status, answer.fields ?? {});
}

/**
 * The handler of routed requests: match (unmatched paths go to `fallback`: health, metrics, the
 * JSON 404), then the stages. Every call counts as in flight until its mode is done with it.
 */
export function createLifecycle(ctx: RelayContext, fallback: Handler): Handler {
  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    const table = ctx.routing.current;
    const match = table.match(method, path);
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
    const { route, params, handshakeOnly } = match;
    const mode = table.modes.get(route.delivery);
    const call: Call = {
      ctx,
      req,
      res,
      route,
      method,
      path,
      params,
      rawQuery: q === -1 ? '' : url.slice(q + 1),
      requestId,
      started,
      clientIp: clientIpOf(req),
      query: undefined,
      rule: undefined,
      message: undefined,
      value: undefined,
      handshakeOnly,
    };
    const tracer = ctx.tracing?.current;
    if (tracer?.enabled) call.span = serverSpan(tracer, call);
    ctx.lifecycle.begin(req);
    ctx.metrics.inFlight.inc({ route: route.id });
    const handled = mode
      ? stages(call, mode)
      : Promise.reject(new Error(`no delivery mode '${route.delivery}' is running for route '${route.id}'`));
    const settled = () => {
      ctx.metrics.inFlight.dec({ route: route.id });
      ctx.lifecycle.end(req);
    };
    // One `then` for both ends rather than catch + finally: a promise fewer per request.
    handled.then(settled, (error: unknown) => {
      try {
        fail(call, asHookrelayError(error));
      } finally {
        settled();
      }
    });
  };
}

/**
 * The SERVER span of a call to a route, continuing the caller's `traceparent` when it sent a valid
 * one. Only the method, the route's path pattern and ids: never the URL's query, headers or body.
 */
function serverSpan(tracer: Tracer, call: Call) {
  const route = routePattern(call.route.path);
  return tracer.startSpan(`${call.method} ${route}`, {
    kind: 'server',
    parent: tracer.extract(call.req.headers),
    attributes: {
      'http.request.method': call.method,
      'http.route': route,
      'hookrelay.route': call.route.id,
      'hookrelay.request_id': call.requestId,
    },
  });
}

/** The route's path as configured (`/hooks/:id`, `/base/*`): the `http.route` of its spans. */
function routePattern(path: RoutePath): string {
  const parts = path.segments.map((s) => ('literal' in s ? s.literal : `:${s.param}`));
  if (path.prefix) parts.push('*');
  return `/${parts.join('/')}`;
}
