/**
 * The end of every call: the answer's metrics and its one `request` log line (logRequest builds it
 * for routed calls, the JSON 404 and the HTTP parser's refusals alike), and for errors the JSON
 * error.
 */
import type { ServerResponse } from 'node:http';
import type { HookrelayError } from '../core/errors.ts';
import type { Logger } from '../telemetry/log.ts';
import { methodLabel, NO_ROUTE } from '../telemetry/metrics.ts';
import type { RelayContext } from './context.ts';
import { send, sendError } from './reply.ts';

/** The end of every request: the answer's metrics and its one log line (and, for errors, the JSON error). */
export function finishError(
  ctx: RelayContext,
  res: ServerResponse,
  error: HookrelayError,
  route: string | null,
  method: string,
  requestId: string,
  started: number,
  headers: Record<string, string> = {},
  extra: Record<string, unknown> = {},
  shaped?: { status: number; headers: Record<string, string>; body: string },
): void {
  if (shaped) {
    // The route's `onError` answer replaces the JSON error body; Retry-After and the id stay.
    const out = { ...shaped.headers, ...headers, [ctx.requestIdHeader]: requestId };
    const retryAfter = error.params.retryAfter;
    if (typeof retryAfter === 'number' && Number.isFinite(retryAfter)) {
      out['retry-after'] = String(Math.max(0, Math.ceil(retryAfter)));
    }
    send(res, shaped.status, out, shaped.body);
  } else sendError(res, error, route, requestId, ctx.requestIdHeader, headers);
  const routeLabel = route ?? NO_ROUTE;
  ctx.metrics.errors.inc({ route: routeLabel, code: error.code });
  const fields = { ...extra, code: error.code, error: error.message };
  if (error.code === 'HOOKRELAY_ERR_INTERNAL') {
    ctx.logger.error({ err: error.cause }, 'internal error');
  }
  finish(ctx, routeLabel, method, shaped?.status ?? error.status, requestId, started, fields);
}

export function finish(
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
  logRequest(
    ctx.logger,
    { requestId, route, method, status, durationMs: Math.round(seconds * 1e6) / 1e3 },
    fields,
  );
}

/** What every request's log line holds, whichever path answered the request. */
export interface RequestLine {
  requestId: string;
  route: string;
  /** null when the request line could not be parsed. */
  method: string | null;
  status: number;
  /** Absent only for a request refused by the HTTP parser: it never had a start time. */
  durationMs?: number;
}

/**
 * The one `request` log line: the relay's routes, the 404 for no route and the parser's refusals
 * all write it here, so its fields and level cannot drift apart. `fields` add to it (`code`,
 * `error`, and `attempts` once the caller reached the target).
 */
export function logRequest(logger: Logger, line: RequestLine, fields: Record<string, unknown> = {}): void {
  const { requestId, route, method, status, durationMs } = line;
  const level = status >= 500 ? 'warn' : 'info';
  // attempts: 0 unless the caller reached the target; every request line has the same fields.
  logger[level]({ requestId, route, method, status, attempts: 0, durationMs, ...fields }, 'request');
}
