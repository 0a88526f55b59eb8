import type { ServerResponse } from 'node:http';
import type { HookrelayError } from '../core/errors.ts';
import { methodLabel, NO_ROUTE } from '../telemetry/metrics.ts';
import type { RelayContext } from './context.ts';
import { sendError } from './reply.ts';

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
  const level = status >= 500 ? 'warn' : 'info';
  ctx.logger[level](
    // attempts: 0 unless the caller reached the target; every request line has the same fields.
    { requestId, route, method, status, attempts: 0, durationMs: Math.round(seconds * 1e6) / 1e3, ...fields },
    'request',
  );
}
