/**
 * The request for the target, shared by buffered and stream routes: the URL from the route's
 * template and the caller's query, the headers with the route's hygiene, X-Forwarded-For and the
 * request id.
 */
import { appendForwardedFor, forwardableHeaders } from '../core/headers.ts';
import type { InboundMessage, OutboundRequest } from '../core/message.ts';
import type { TransformResult } from '../transforms/run.ts';
import type { CompiledForward } from './route.ts';
import { renderUrlTemplate } from './url-template.ts';

/** What the target request is built from; the inbound message of buffered and stream routes alike. */
export type TargetInbound = Pick<
  InboundMessage,
  'params' | 'query' | 'rawQuery' | 'headers' | 'clientIp' | 'requestId'
>;

/**
 * The target URL and headers of a route, shared by buffered and stream routes: the URL template
 * rendered (origin checked again), the caller's query appended without the credentials `verify`
 * consumed, the caller's end-to-end headers with the route's hygiene, static headers,
 * X-Forwarded-For and the request id.
 */
export function targetOf(
  forward: CompiledForward,
  inbound: TargetInbound,
  requestIdHeader: string,
): { url: URL; headers: Record<string, string> } {
  const url = targetUrl(forward, inbound);
  const headers = forwardableHeaders(inbound.headers, forward.passHeaders, requestIdHeader);
  for (const name of forward.consumedHeaders) delete headers[name];
  for (const name in forward.headers) headers[name] = forward.headers[name]!;
  headers['x-forwarded-for'] = appendForwardedFor(inbound.headers['x-forwarded-for'], inbound.clientIp);
  headers[requestIdHeader] = inbound.requestId;
  return { url, headers };
}

/**
 * The target URL alone: the template rendered with the path parameters (and the rest below a
 * prefix), the caller's query appended. Queued deliveries render it again at each attempt from
 * these inputs, so what the configuration puts in the URL (a `?code=${KEY}`) is never stored.
 */
export function targetUrl(
  forward: CompiledForward,
  inbound: Pick<TargetInbound, 'params' | 'query' | 'rawQuery'>,
): URL {
  const { template } = forward;
  const rendered = template.isStatic
    ? (template.parts[0] as { literal: string }).literal
    : renderUrlTemplate(template, inbound.params, inbound.query);
  const url = new URL(rendered);
  // Defence in depth: placeholders are encoded and only allowed after the origin.
  if (url.origin !== template.origin) throw new Error(`target origin changed to ${url.origin}`);
  if (forward.passQuery && inbound.rawQuery) {
    const query = safeQuery(
      forward.consumedQuery.size ? withoutParams(inbound.rawQuery, forward.consumedQuery) : inbound.rawQuery,
    );
    if (query) url.search = url.search ? `${url.search}&${query}` : `?${query}`;
  }
  return url;
}

/** Builds the request for the target from the inbound message and the route's forward block. */
export function buildOutbound(
  forward: CompiledForward,
  message: InboundMessage,
  requestIdHeader: string,
  transformed?: TransformResult,
): OutboundRequest {
  const { url, headers } = targetOf(forward, message, requestIdHeader);
  if (transformed) {
    // The body changed shape: its type and encoding are the last step's, not the caller's.
    delete headers['content-encoding'];
    if (transformed.contentType) headers['content-type'] = transformed.contentType;
    else delete headers['content-type'];
    for (const name in transformed.setHeaders) headers[name] = transformed.setHeaders[name]!;
    for (const name of transformed.removeHeaders) delete headers[name];
    const method = transformed.method ?? forward.method ?? message.method;
    return {
      method,
      url,
      headers,
      body: transformed.body.length > 0 || methodHasBody(method) ? transformed.body : undefined,
    };
  }
  const method = forward.method ?? message.method;
  return {
    method,
    url,
    headers,
    body: message.body.length > 0 || methodHasBody(method) ? message.body : undefined,
  };
}

function methodHasBody(method: string): boolean {
  return method !== 'GET' && method !== 'DELETE';
}

/** The raw query without the named parameters, other bytes untouched. */
function withoutParams(rawQuery: string, names: ReadonlySet<string>): string {
  return rawQuery
    .split('&')
    .filter((pair) => {
      const name = pair.split('=', 1)[0]!;
      let decoded = name;
      try {
        decoded = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        // A malformed name is kept as sent.
      }
      return !names.has(decoded);
    })
    .join('&');
}

// WHATWG's query percent-encode set (space, ", #, <, >, ') plus controls and non-ASCII: encoded
// here as the bytes they are (Node hands the request target over as latin1), so the URL parser
// does not re-encode them as UTF-8 into other bytes. Everything else, `%XX` included, is kept.
const QUERY_UNSAFE = /[^\x21\x24-\x26\x28-\x3b\x3d\x3f-\x7e]/g;

function safeQuery(raw: string): string {
  return raw.replace(QUERY_UNSAFE, (ch) => {
    const code = ch.charCodeAt(0);
    return code <= 0xff ? `%${code.toString(16).toUpperCase().padStart(2, '0')}` : encodeURIComponent(ch);
  });
}
