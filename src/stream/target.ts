import type { IncomingMessage } from 'node:http';
import type { OutboundRequest } from '../auth/types.ts';
import type { CompiledForward } from '../config/compile.ts';
import { renderUrlTemplate } from '../config/template.ts';
import { appendForwardedFor, forwardableHeaders } from '../pipeline/headers.ts';

/** What the stream handler knows of the inbound request once routed. */
export interface StreamInbound {
  req: IncomingMessage;
  method: string;
  params: Record<string, string>;
  rawQuery: string;
  requestId: string;
  clientIp: string;
}

// WHATWG's query percent-encode set (space, ", #, <, >, ') plus controls and non-ASCII: encoded
// here as the bytes they are (Node hands the request target over as latin1), so no URL parser
// re-encodes them later into something else.
const QUERY_UNSAFE = /[^\x21\x24-\x26\x28-\x3b\x3d\x3f-\x7e]/g;

function safeQuery(raw: string): string {
  return raw.replace(QUERY_UNSAFE, (ch) => {
    const code = ch.charCodeAt(0);
    return code <= 0xff ? `%${code.toString(16).toUpperCase().padStart(2, '0')}` : encodeURIComponent(ch);
  });
}

/**
 * The request for the target, before credentials: the URL (prefix joined, query appended), the
 * caller's end-to-end headers with the same hygiene as buffered routes, X-Forwarded-*, the
 * request id, and the body framing taken from the caller (the body itself is streamed later).
 */
export function streamOutbound(
  forward: CompiledForward,
  inbound: StreamInbound,
  requestIdHeader: string,
): OutboundRequest {
  const { req } = inbound;
  const { template } = forward;
  const query = new URLSearchParams(inbound.rawQuery);
  const rendered = template.isStatic
    ? (template.parts[0] as { literal: string }).literal
    : renderUrlTemplate(template, inbound.params, query);
  const url = new URL(rendered);
  // Defence in depth: placeholders are encoded and the rest of the path checked and joined after the origin.
  if (url.origin !== template.origin) throw new Error(`target origin changed to ${url.origin}`);
  if (forward.passQuery && inbound.rawQuery) {
    const kept = inbound.rawQuery
      .split('&')
      .filter((pair) => !forward.consumedQuery.has(decodeName(pair.split('=', 1)[0]!)))
      .join('&');
    if (kept) url.search = url.search ? `${url.search}&${safeQuery(kept)}` : `?${safeQuery(kept)}`;
  }
  const headers = forwardableHeaders(req.headers, forward.passHeaders, requestIdHeader);
  for (const name of forward.consumedHeaders) delete headers[name];
  for (const name in forward.headers) headers[name] = forward.headers[name]!;
  headers.host = url.host;
  headers['x-forwarded-for'] = appendForwardedFor(req.headers['x-forwarded-for'], inbound.clientIp);
  // A TLS-terminating proxy in front knows the original scheme and host; hookrelay itself speaks http.
  headers['x-forwarded-proto'] = first(req.headers['x-forwarded-proto']) ?? 'http';
  const host = first(req.headers['x-forwarded-host']) ?? req.headers.host;
  if (host) headers['x-forwarded-host'] = host;
  else delete headers['x-forwarded-host'];
  headers[requestIdHeader] = inbound.requestId;
  // Framing: the length the caller declared (Node checks the body against it), else chunked.
  const length = req.headers['content-length'];
  if (length !== undefined) headers['content-length'] = length;
  else if (req.headers['transfer-encoding'] !== undefined) headers['transfer-encoding'] = 'chunked';
  return { method: forward.method ?? inbound.method, url, headers, body: undefined };
}

function first(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v ? v : undefined;
}

function decodeName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}
