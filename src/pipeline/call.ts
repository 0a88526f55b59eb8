/**
 * One inbound call on a route, as the stages and the mode see it: the request and its answer, the
 * route, what was read off the request line, and the two ways a call ends (`done`, `fail`).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HookrelayError } from '../core/errors.ts';
import { DEFAULT_JSON_DEPTH } from '../core/json-depth.ts';
import type { InboundMessage } from '../core/message.ts';
import { REQUEST_ID } from '../core/patterns.ts';
import type { Span } from '../telemetry/tracing.ts';
import type { RelayContext } from './context.ts';
import { type CompiledFailureAnswer, failureAnswer } from './failure-answer.ts';
import { finish, finishError } from './finish.ts';
import type { RouteBase } from './route.ts';

export interface Call<R extends RouteBase = RouteBase> {
  ctx: RelayContext;
  req: IncomingMessage;
  res: ServerResponse;
  route: R;
  method: string;
  /** Path as received, without the query. */
  path: string;
  params: Record<string, string>;
  /** Raw query string without `?` ('' when none). */
  rawQuery: string;
  requestId: string;
  /** `performance.now()` when the call was matched. */
  started: number;
  clientIp: string;
  /** The query parsed, once, by the first stage that needs it (verify, or the inbound message). */
  query?: URLSearchParams | undefined;
  /** The route rule that matched the call, for its `request` log line. */
  rule?: string | undefined;
  /** Once read: the inbound message and the transformed body, for an `onError` answer's templates. */
  message?: InboundMessage | undefined;
  value?: unknown;
  /** The method is accepted only for the route's handshake (router.ts): anything else is a 405. */
  handshakeOnly?: boolean | undefined;
  /** The call's SERVER span when tracing is on (lifecycle.ts); ended with the call. */
  span?: Span | undefined;
}

/** The caller's request id when it is a plain token of sane length; otherwise a new one. */
export function requestIdOf(req: IncomingMessage, header: string): string {
  const given = req.headers[header];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

export function clientIpOf(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** Shared by every request without a query string; nothing mutates a message's query. */
const NO_QUERY = new URLSearchParams();

export function queryOf(call: Call): URLSearchParams {
  call.query ??= call.rawQuery ? new URLSearchParams(call.rawQuery) : NO_QUERY;
  return call.query;
}

/** The request as the transform steps, templates and the queue hold it (core/message.ts). */
export function inboundMessage(call: Call, body: Buffer): InboundMessage {
  return {
    requestId: call.requestId,
    routeId: call.route.id,
    method: call.method,
    path: call.path,
    params: call.params,
    query: queryOf(call),
    rawQuery: call.rawQuery,
    headers: call.req.headers,
    body,
    clientIp: call.clientIp,
    receivedAt: Date.now(),
  };
}

/** The call answered with `status` by the mode: metrics and the `request` log line. */
export function done(call: Call, status: number, fields: Record<string, unknown>): void {
  if (call.rule !== undefined) fields = { rule: call.rule, ...fields };
  if (call.span) fields = endSpan(call.span, status, undefined, fields);
  finish(call.ctx, call.route.id, call.method, status, call.requestId, call.started, fields);
}

/** The call refused or failed with `error`: the JSON error, metrics and the log line. */
export function fail(
  call: Call,
  error: HookrelayError,
  headers: Record<string, string> = {},
  fields: Record<string, unknown> = {},
): void {
  if (call.rule !== undefined) fields = { rule: call.rule, ...fields };
  const { onError } = call.route as { onError?: readonly CompiledFailureAnswer[] };
  const shaped =
    onError && onError.length > 0
      ? failureAnswer(
          onError,
          { code: error.code, message: error.message, status: error.status },
          call,
          jsonDepthOf(call.route),
        )
      : undefined;
  if (call.span) fields = endSpan(call.span, shaped?.status ?? error.status, error.code, fields);
  finishError(
    call.ctx,
    call.res,
    error,
    call.route.id,
    call.method,
    call.requestId,
    call.started,
    headers,
    fields,
    shaped,
  );
}

function jsonDepthOf(route: RouteBase): number {
  return (route.limits as { jsonDepth?: number }).jsonDepth ?? DEFAULT_JSON_DEPTH;
}

/** The call's SERVER span ends with its answer; its ids go on the `request` log line. */
function endSpan(
  span: Span,
  status: number,
  code: string | undefined,
  fields: Record<string, unknown>,
): Record<string, unknown> {
  span.setAttributes({ 'http.response.status_code': status });
  // A server span fails on a 5xx only (OpenTelemetry's HTTP conventions); the code names why.
  if (code !== undefined) span.setAttributes({ 'error.type': code });
  if (status >= 500) span.setError(code);
  span.end();
  return { ...fields, traceId: span.traceId, spanId: span.spanId };
}
