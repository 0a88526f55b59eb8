/**
 * What a web page open in a browser on the relay's host must not be able to do to the admin API.
 *
 * - DNS rebinding: a page on `evil.example` re-resolves its own name to 127.0.0.1 and reads the
 *   API as same-origin. The browser still sends `Host: evil.example`, so only requests naming the
 *   listener (its address, loopback names when it is on loopback or all interfaces, the machine's
 *   name and addresses when it is on all interfaces, and `admin.allowedHosts`) are answered.
 * - Cross-site requests: a form or `fetch(…, { mode: 'no-cors' })` can POST `text/plain` to any
 *   origin without a preflight. State-changing requests need `Content-Type: application/json`,
 *   which a cross-origin page can only send after a CORS preflight, and hookrelay answers no
 *   preflight and sends no CORS headers. A request that says it comes from another origin (an
 *   `Origin` other than the `Host` it was sent to, `Sec-Fetch-Site: cross-site`/`same-site`) is
 *   refused outright. `Origin: null` is refused too, unless the browser says `Sec-Fetch-Site:
 *   same-origin` (a same-origin form under `Referrer-Policy: no-referrer`).
 *
 * The port is not compared: behind `kubectl port-forward` or an SSH tunnel the Host names another
 * one, and a rebinding page cannot choose the name the browser sends.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { AdminError } from './http.ts';

export interface HostGuardOptions {
  /** The configured listen address (`admin.host`). */
  host: string;
  /** Further names the API may be reached by (a proxy or a Kubernetes Service in front). */
  allowedHosts?: readonly string[] | undefined;
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];
const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/** Lower-cased host names and addresses (IPv6 without brackets) the listener answers to. */
export function allowedHostNames(options: HostGuardOptions): Set<string> {
  const names = new Set<string>();
  const add = (name: string) => names.add(unbracket(name.toLowerCase()));
  const host = unbracket(options.host.toLowerCase());
  add(host);
  const loopback = host === 'localhost' || host === '::1' || /^127\./.test(host);
  if (loopback || WILDCARDS.has(host)) for (const name of LOOPBACK_NAMES) add(name);
  if (WILDCARDS.has(host)) {
    add(hostname());
    for (const list of Object.values(networkInterfaces())) {
      for (const entry of list ?? []) add(entry.address.replace(/%.*$/, ''));
    }
  }
  for (const name of options.allowedHosts ?? []) add(name);
  return names;
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** `Host: name:port`, `[::1]:9090`, `name` → the name, lower-cased, without brackets or port. */
export function hostOf(header: string): string | undefined {
  const value = header.trim().toLowerCase();
  if (value === '') return undefined;
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    if (end === -1) return undefined;
    const rest = value.slice(end + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined;
    const address = value.slice(1, end);
    return isIP(address) === 6 ? address : undefined;
  }
  const match = /^([a-z0-9._-]+)(?::\d{1,5})?$/.exec(value);
  if (!match) return undefined;
  // A trailing dot names the same host (`localhost.`) and must not slip past the comparison.
  return match[1]!.replace(/\.$/, '');
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Throws the refusal for a request naming another host or sent from another origin. */
export function createHostGuard(options: HostGuardOptions): (req: IncomingMessage) => void {
  const allowed = allowedHostNames(options);
  return (req) => {
    const header = req.headers.host;
    const host = header === undefined ? undefined : hostOf(header);
    if (host === undefined || !allowed.has(host)) {
      throw new AdminError('HOOKRELAY_ERR_ADMIN_HOST_NOT_ALLOWED', { host: truncate(header ?? '') });
    }
    const origin = req.headers.origin;
    const site = req.headers['sec-fetch-site'];
    // A page served with `Referrer-Policy: no-referrer` (the console's) posts its forms with
    // `Origin: null`; the browser's own `Sec-Fetch-Site: same-origin` then says where it came
    // from. A sandboxed frame or a file:// page sends `null` too, but never with same-origin.
    const hiddenOrigin = origin === 'null' && site === 'same-origin';
    if (origin !== undefined && !hiddenOrigin && !sameOrigin(origin, header!)) {
      throw new AdminError('HOOKRELAY_ERR_ADMIN_CROSS_ORIGIN', { reason: `Origin '${truncate(origin)}'` });
    }
    if (site === 'cross-site' || site === 'same-site') {
      throw new AdminError('HOOKRELAY_ERR_ADMIN_CROSS_ORIGIN', { reason: site });
    }
  };
}

/** A state-changing request must say its body is JSON: a page can send that only after a preflight. */
export function requireJsonBody(req: IncomingMessage): void {
  if (!STATE_CHANGING.has(req.method ?? '')) return;
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new AdminError('HOOKRELAY_ERR_ADMIN_UNSUPPORTED_MEDIA_TYPE', {
      method: req.method ?? '',
      actual: type ? `, not '${truncate(type)}'` : '',
    });
  }
}

/** The page's origin is the one the request went to: same scheme-relative host and port as `Host`. */
function sameOrigin(origin: string, host: string): boolean {
  let from: URL;
  let to: URL;
  try {
    from = new URL(origin);
    to = new URL(`${from.protocol}//${host.trim()}`);
  } catch {
    // `Origin: null` (sandboxed frames, file:// pages) and anything unparsable.
    return false;
  }
  return (from.protocol === 'http:' || from.protocol === 'https:') && from.host === to.host;
}

/** Header values are quoted back shortened: they are the caller's. */
function truncate(value: string): string {
  const printable = value.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > 100 ? `${printable.slice(0, 100)}…` : printable;
}
