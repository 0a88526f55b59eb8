/**
 * The inbound call `hookrelay try` and `hookrelay test` simulate, built into the same message the
 * relay builds from a real request, with the checks the relay makes before the transform steps
 * (path, method, body limit), so a dry run fails where the relay would.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { CompiledRoute } from '../config/compile.ts';
import { HookrelayError } from '../core/errors.ts';
import type { InboundMessage } from '../core/message.ts';
import { REQUEST_ID } from '../core/patterns.ts';
import { createRouter } from '../pipeline/router.ts';

export interface Call {
  method?: string | undefined;
  /** Inbound path; default: the route path with `params` filled in, others left as `:name`. */
  path?: string | undefined;
  params?: Record<string, string>;
  /** Query string, with or without the leading `?`. */
  query?: string | undefined;
  /** Header names in any case; a list repeats the header. */
  headers?: Record<string, string | string[]>;
  contentType?: string | undefined;
  body: Buffer;
  clientIp?: string;
}

/** Throws a HookrelayError with the code the relay would answer with. */
export function inboundMessage(
  route: CompiledRoute,
  call: Call,
  requestIdHeader: string,
  defaultRequestId: string,
): InboundMessage {
  const method = (call.method ?? route.methods[0] ?? 'POST').toUpperCase();
  const path = call.path ?? routePath(route, call.params ?? {});
  const match = createRouter([route])(method, path);
  if (match.kind === 'not-found') {
    throw new HookrelayError('HOOKRELAY_ERR_ROUTE_NOT_FOUND', { method, path });
  }
  if (match.kind === 'method-not-allowed') {
    throw new HookrelayError('HOOKRELAY_ERR_METHOD_NOT_ALLOWED', { allow: match.allow.join(', '), method });
  }
  if (call.body.length > route.limits.body) {
    throw new HookrelayError('HOOKRELAY_ERR_BODY_TOO_LARGE', { limit: route.limits.body });
  }
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(call.headers ?? {})) {
    const key = name.toLowerCase();
    const list = [headers[key] ?? [], value].flat() as string[];
    // As node:http does: repeated headers are joined, except Set-Cookie.
    headers[key] = key === 'set-cookie' ? list : list.join(', ');
  }
  if (call.contentType !== undefined) headers['content-type'] = call.contentType;
  const given = headers[requestIdHeader];
  const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : defaultRequestId;
  const rawQuery = (call.query ?? '').replace(/^\?/, '');
  return {
    requestId,
    routeId: route.id,
    method,
    path,
    params: match.params,
    query: new URLSearchParams(rawQuery),
    rawQuery,
    headers,
    body: call.body,
    clientIp: call.clientIp ?? '127.0.0.1',
    receivedAt: Date.now(),
  };
}

/** `/in/:tenant/orders` with `{ tenant: 'acme' }` → `/in/acme/orders`; a missing one stays `:tenant`. */
export function routePath(route: CompiledRoute, params: Record<string, string>): string {
  const segments = route.path.segments.map((s) =>
    'literal' in s ? s.literal : s.param in params ? encodeURIComponent(params[s.param]!) : `:${s.param}`,
  );
  return `/${segments.join('/')}`;
}

/** `--param tenant=acme` values; throws on a malformed one. */
export function parseParams(values: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq <= 0) throw new Error(`--param '${value}': expected name=value`);
    params[value.slice(0, eq)] = value.slice(eq + 1);
  }
  return params;
}

/** `--header 'K: V'` values; throws on a malformed one. */
export function parseHeaders(values: readonly string[]): Record<string, string[]> {
  const headers: Record<string, string[]> = {};
  for (const value of values) {
    const colon = value.indexOf(':');
    const name = value.slice(0, colon).trim();
    if (colon <= 0 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      throw new Error(`--header '${value}': expected 'Name: value'`);
    }
    const key = name.toLowerCase();
    headers[key] = [...(headers[key] ?? []), value.slice(colon + 1).trim()];
  }
  return headers;
}
