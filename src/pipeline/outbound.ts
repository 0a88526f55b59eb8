import type { OutboundRequest } from '../auth/types.ts';
import type { CompiledForward } from '../config/compile.ts';
import { renderUrlTemplate } from '../config/template.ts';
import type { TransformResult } from '../transforms/run.ts';
import { appendForwardedFor, forwardableHeaders } from './headers.ts';
import type { InboundMessage } from './message.ts';

/** Builds the request for the target from the inbound message and the route's forward block. */
export function buildOutbound(
  forward: CompiledForward,
  message: InboundMessage,
  requestIdHeader: string,
  transformed?: TransformResult,
): OutboundRequest {
  const { template } = forward;
  const rendered = template.isStatic
    ? (template.parts[0] as { literal: string }).literal
    : renderUrlTemplate(template, message.params, message.query);
  const url = new URL(rendered);
  // Defence in depth: placeholders are encoded and only allowed after the origin.
  if (url.origin !== template.origin) throw new Error(`target origin changed to ${url.origin}`);
  if (forward.passQuery && message.rawQuery) {
    const query = forward.consumedQuery.size
      ? withoutParams(message.rawQuery, forward.consumedQuery)
      : message.rawQuery;
    if (query) url.search = url.search ? `${url.search}&${query}` : `?${query}`;
  }
  const headers = forwardableHeaders(message.headers, forward.passHeaders, requestIdHeader);
  for (const name of forward.consumedHeaders) delete headers[name];
  for (const name in forward.headers) headers[name] = forward.headers[name]!;
  headers['x-forwarded-for'] = appendForwardedFor(message.headers['x-forwarded-for'], message.clientIp);
  headers[requestIdHeader] = message.requestId;
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
