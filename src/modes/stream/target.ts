/**
 * The upstream request of a stream route, built from the routed inbound request: URL, headers and
 * body framing; the body itself is piped later by the exchange.
 */
import type { IncomingMessage } from 'node:http';
import type { OutboundRequest } from '../../core/message.ts';
import { targetOf } from '../../pipeline/outbound.ts';
import type { CompiledForward } from '../../pipeline/route.ts';

/** What the stream handler knows of the inbound request once routed. */
export interface StreamInbound {
  req: IncomingMessage;
  method: string;
  params: Record<string, string>;
  rawQuery: string;
  requestId: string;
  clientIp: string;
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
  const query = new URLSearchParams(inbound.rawQuery);
  const { url, headers } = targetOf(forward, { ...inbound, query, headers: req.headers }, requestIdHeader);
  headers.host = url.host;
  // A TLS-terminating proxy in front knows the original scheme and host; hookrelay itself speaks http.
  headers['x-forwarded-proto'] = first(req.headers['x-forwarded-proto']) ?? 'http';
  const host = first(req.headers['x-forwarded-host']) ?? req.headers.host;
  if (host) headers['x-forwarded-host'] = host;
  else delete headers['x-forwarded-host'];
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
