/**
 * The console's sessions and its protection against cross-site request forgery.
 *
 * The model:
 * - A per-process random secret (32 bytes, never stored or logged) keys every MAC below, so a
 *   restart ends all sessions and invalidates every form.
 * - The session is a cookie, `hookrelay_console=v1.<id>.<expires>.<kind>.<mac>`: a random id, an
 *   expiry (8 h), and whether the browser logged in with the admin token (`t`), the listener
 *   has no token (`n`, loopback only), or the browser is only on the login form (`l`: its one
 *   use is to bind the login form's CSRF token, so a page elsewhere cannot log a browser in). The MAC (HMAC-SHA256 over all of it and a hash of the
 *   configured token) makes it unforgeable, and a changed token ends the logged-in sessions. The
 *   cookie is `HttpOnly` (no script reads it), `SameSite=Strict` (a browser sends it only on
 *   requests a page of the same site started) and `Path=/console` (the API never sees it and
 *   keeps requiring the bearer header). `__Host-` and `Secure` need HTTPS, which the admin
 *   listener does not serve; behind a TLS proxy they would be worth adding.
 * - A logout ends the session in this process (its id is remembered until it would have expired),
 *   so a copy of the cookie is refused too.
 * - Every form of the console carries a hidden `csrf` field, HMAC-SHA256 of the session id. A
 *   POST is accepted only with a valid session cookie and the token bound to it, compared in
 *   constant time. A page of another site can neither read the token (same-origin policy, and
 *   no CORS headers are ever sent) nor make the browser send the cookie (SameSite=Strict).
 * - Before any of that the host guard (../guard.ts) has refused a request naming another host
 *   (DNS rebinding) or saying it comes from another origin (`Origin`, `Sec-Fetch-Site`).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const COOKIE = 'hookrelay_console';
/** How long a session lasts from its creation (login, or the first page without a token). */
export const SESSION_MS = 8 * 3_600_000;
/** Logged-out sessions remembered (one process, a handful of operators: never near this). */
const MAX_ENDED = 10_000;

export interface Session {
  id: string;
  expires: number;
  /** Logged in with the admin token (`t`), the listener has none (`n`), or on the login form (`l`). */
  kind: 't' | 'n' | 'l';
}

export interface Sessions {
  /** The valid session the request's cookie names, if any. */
  read(req: IncomingMessage, now: number): Session | undefined;
  /** A new session and its `Set-Cookie` value. */
  issue(kind: Session['kind'], now: number): { session: Session; cookie: string };
  /** Ends a session (logout): its cookie is refused from now on, even if a copy is replayed. */
  end(session: Session): void;
  /** The `Set-Cookie` value that removes the session cookie. */
  clear(): string;
  /** The CSRF token the session's forms carry. */
  csrfToken(session: Session): string;
  /** Whether a submitted token is the session's, in constant time. */
  csrfValid(session: Session, token: string | undefined): boolean;
  /** Whether a submitted admin token is the configured one, in constant time (false when none is configured). */
  tokenValid(given: string): boolean;
}

const b64 = (bytes: Buffer) => bytes.toString('base64url');
const sha256 = (text: string) => createHash('sha256').update(text).digest();

/** Equal-length digests compared in constant time: neither the value nor its length leaks. */
function sameDigest(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

export function createSessions(options: { token?: string | undefined; secret?: Buffer }): Sessions {
  const secret = options.secret ?? randomBytes(32);
  const tokenHash = options.token === undefined ? '' : b64(sha256(options.token));
  const mac = (purpose: string, text: string) =>
    b64(createHmac('sha256', secret).update(`${purpose}\n${tokenHash}\n${text}`).digest());
  const cookieAttributes = 'Path=/console; HttpOnly; SameSite=Strict';
  // Sessions ended by a logout, until they would have expired anyway (bounded: oldest dropped first).
  const ended = new Map<string, number>();

  return {
    read(req, now) {
      const value = cookieValue(req.headers.cookie, COOKIE);
      if (value === undefined) return undefined;
      const parts = value.split('.');
      if (parts.length !== 5 || parts[0] !== 'v1') return undefined;
      const [, id, expiresText, kind, given] = parts as [string, string, string, string, string];
      if (!sameDigest(given, mac('session', `${id}.${expiresText}.${kind}`))) return undefined;
      const expires = Number(expiresText);
      if (!Number.isSafeInteger(expires) || expires <= now) return undefined;
      if (kind !== 't' && kind !== 'n' && kind !== 'l') return undefined;
      // A token configured now turns an anonymous session into none (and the MAC covers the token).
      if (kind === 'n' && options.token !== undefined) return undefined;
      if (ended.has(id)) return undefined;
      return { id, expires, kind };
    },
    issue(kind, now) {
      const session: Session = { id: b64(randomBytes(18)), expires: now + SESSION_MS, kind };
      const body = `${session.id}.${session.expires}.${kind}`;
      const cookie = `${COOKIE}=v1.${body}.${mac('session', body)}; ${cookieAttributes}; Max-Age=${SESSION_MS / 1000}`;
      return { session, cookie };
    },
    end(session) {
      const now = Date.now();
      for (const [id, expires] of ended) if (expires <= now) ended.delete(id);
      if (ended.size >= MAX_ENDED) ended.delete(ended.keys().next().value!);
      ended.set(session.id, session.expires);
    },
    clear: () => `${COOKIE}=; ${cookieAttributes}; Max-Age=0`,
    csrfToken: (session) => mac('csrf', session.id),
    csrfValid: (session, token) => token !== undefined && sameDigest(token, mac('csrf', session.id)),
    tokenValid: (given) => options.token !== undefined && sameDigest(given, options.token),
  };
}

/** One cookie's value from a `Cookie` header (the first of that name). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const pair of (header ?? '').split(';')) {
    const at = pair.indexOf('=');
    if (at !== -1 && pair.slice(0, at).trim() === name) return pair.slice(at + 1).trim();
  }
  return undefined;
}
