/**
 * Statuses followed when a route allows redirects, always re-sending the same method and body:
 * 307/308 require it (RFC 9110 §15.4.8, §15.4.9), and for 301/302 RFC 9110 §15.4.2/§15.4.3 only
 * permit (not require) a user agent to switch POST to GET, which for a webhook would drop the
 * payload and report success. 303 See Other says the request was handled and the answer is
 * elsewhere: it is not followed and stays a non-2xx answer, like 300, 304 and 305.
 */
import { HookrelayError } from '../core/errors.ts';
import type { TargetResponse } from './attempt.ts';

const FOLLOWED = new Set([301, 302, 307, 308]);

/**
 * Where to go next for a redirect answer, or undefined when `response` is the answer. Only the
 * same origin (scheme, host and port) is followed: the target host is fixed by the configuration,
 * and credentials and signatures must never reach another one.
 */
export function redirectTarget(
  response: TargetResponse,
  current: URL,
  max: number,
  hops: number,
): URL | undefined {
  if (max === 0 || !FOLLOWED.has(response.status)) return undefined;
  const raw = response.headers.location;
  const location = Array.isArray(raw) ? raw[0] : raw;
  const refuse = (reason: string) => new HookrelayError('HOOKRELAY_ERR_REDIRECT_REFUSED', { reason });
  if (!location) throw refuse(`the target answered ${response.status} without a Location header`);
  let next: URL;
  try {
    next = new URL(location, current);
  } catch {
    throw refuse(`the target answered ${response.status} with a malformed Location`);
  }
  // Only the origin is quoted: the path or query of a Location may carry tokens.
  if (next.origin !== current.origin) {
    throw refuse(
      `the target answered ${response.status} toward another origin (${next.origin}); only ${current.origin} is followed`,
    );
  }
  if (hops >= max) throw refuse(`more than ${max} redirect(s) (followRedirects: ${max})`);
  next.hash = '';
  return next;
}
