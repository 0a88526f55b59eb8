/**
 * What of a prepared request is stored with a queued delivery, and how an attempt gets it back.
 * The configuration's own contributions are left out: the header values it fixes (a static
 * `X-Api-Key: ${KEY}`), and the URL, which is rendered again from the call's path parameters and
 * query at each attempt (a `?code=${KEY}` in `forward.url`). Both are taken from the configuration
 * the relay runs with at that attempt, so a rotated secret reaches pending deliveries and no secret
 * of the configuration is ever written to the queue. Credentials (`auth`) and signatures are
 * applied by the sender at each attempt as well.
 */
import type { OutboundRequest } from '../core/message.ts';
import type { StoredRequest, StoredTarget } from './types.ts';

/** What a worker knows of its route to rebuild a stored request. */
export interface StoredRequestRoute {
  /** Header values the configuration fixes (CompiledRoute.configHeaders). */
  configHeaders?: Readonly<Record<string, string>> | undefined;
  /** The target URL for the stored inputs, from the route's `forward` as configured now. */
  targetUrl?: ((target: StoredTarget) => URL) | undefined;
}

/**
 * The request to store: headers whose value is exactly the configuration's fixed one are named,
 * not stored; `displayUrl` is what operators see (the configuration's secrets redacted).
 */
export function storedRequest(
  outbound: OutboundRequest,
  configHeaders: Readonly<Record<string, string>>,
  target: StoredTarget,
  displayUrl: string,
): StoredRequest {
  const headers: Record<string, string> = {};
  const fixed: string[] = [];
  for (const name of Object.keys(outbound.headers)) {
    const value = outbound.headers[name]!;
    if (Object.hasOwn(configHeaders, name) && configHeaders[name] === value) fixed.push(name);
    else headers[name] = value;
  }
  return {
    method: outbound.method,
    url: displayUrl,
    headers,
    body: outbound.body,
    configHeaders: fixed,
    target: { params: { ...target.params }, rawQuery: target.rawQuery },
  };
}

/**
 * The request an attempt sends: the stored one with the configuration's header values and URL
 * applied as they are now. A header the configuration no longer fixes is left out. Records stored
 * before this existed (no `target`) are sent as stored.
 */
export function attemptRequest(stored: StoredRequest, route: StoredRequestRoute): OutboundRequest {
  const url = stored.target && route.targetUrl ? route.targetUrl(stored.target) : new URL(stored.url);
  const headers = { ...stored.headers };
  const fixed = route.configHeaders ?? {};
  for (const name of stored.configHeaders ?? []) {
    if (Object.hasOwn(fixed, name)) headers[name] = fixed[name]!;
  }
  return { method: stored.method, url, headers, body: stored.body };
}
