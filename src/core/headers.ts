/**
 * Header hygiene for both directions. Hop-by-hop headers (RFC 9110 §7.6.1) describe one
 * connection and must never be relayed, nor any header the Connection header names.
 */
import type { IncomingHttpHeaders } from 'node:http';

export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Never copied from the caller by default: the target's Host, and the caller's own credentials. */
const CALLER_PRIVATE = new Set(['host', 'authorization', 'cookie']);

/** Describe the body, which is forwarded as is: always copied, whatever `passHeaders` says. */
const REPRESENTATION = new Set(['content-type', 'content-encoding']);

/** Always rebuilt by hookrelay or by the HTTP client. */
const REBUILT = new Set(['content-length', 'expect', 'x-forwarded-for']);

function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (!value) return undefined;
  const list = Array.isArray(value) ? value.join(',') : value;
  const tokens = new Set<string>();
  for (const token of list.split(',')) {
    const name = token.trim().toLowerCase();
    if (name && name !== 'close' && name !== 'keep-alive') tokens.add(name);
  }
  return tokens.size ? tokens : undefined;
}

/**
 * Caller headers to forward. With `pass` (a route's passHeaders) only those are copied, which may
 * include Authorization or Cookie; hop-by-hop headers are dropped either way.
 */
export function forwardableHeaders(
  headers: IncomingHttpHeaders,
  pass: ReadonlySet<string> | undefined,
  requestIdHeader: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  const named = connectionTokens(headers.connection);
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || REBUILT.has(name) || name === requestIdHeader || named?.has(name)) continue;
    if (pass ? !pass.has(name) && !REPRESENTATION.has(name) : CALLER_PRIVATE.has(name)) continue;
    if (pass && name === 'host') continue;
    const value = headers[name];
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(name === 'cookie' ? '; ' : ', ') : value;
  }
  return out;
}

/** Target response headers to give back to the caller. */
export function relayableResponseHeaders(
  headers: Record<string, string | string[]>,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const named = connectionTokens(headers.connection);
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || name === 'content-length' || named?.has(name)) continue;
    out[name] = headers[name]!;
  }
  return out;
}

/** RFC 7239 predecessor convention: append the client address to any existing chain. */
export function appendForwardedFor(existing: string | string[] | undefined, clientIp: string): string {
  if (!existing) return clientIp;
  const chain = Array.isArray(existing) ? existing.join(', ') : existing;
  return `${chain}, ${clientIp}`;
}
