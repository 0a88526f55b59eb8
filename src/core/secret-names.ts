/**
 * Which header and query-parameter names carry a credential, so their values are masked in logs,
 * echo answers and `hookrelay try` output, and flagged when written literally in the config. One
 * rule for every site: it is the union of the copies those sites used to keep, so a name any of
 * them caught is caught by all.
 */

/**
 * Authorization and Proxy-Authorization (RFC 9110 §11.6.2, §11.7.2), cookies (RFC 6265), and the
 * words API keys, tokens, signatures, passwords and sessions are named with. `auth` counts only as
 * a whole word (`X-Auth-User`, `auth`), so `Author` or `OAuth-Scopes`-like names stay readable.
 */
const SECRET_NAME =
  /authorization|cookie|key|token|secret|signature|passw|credential|session|(^|[-_])auth($|[-_])/i;

/** Matches the rule above but identifies a request rather than authenticating it (Idempotency-Key). */
const NOT_SECRET = /idempotency/i;

/** A header name (any case) whose value is a credential. */
export function isSecretHeaderName(name: string): boolean {
  return SECRET_NAME.test(name) && !NOT_SECRET.test(name);
}

/** A query-parameter name (`?api_key=`, `?access_token=`) whose value is a credential. */
export function isSecretParamName(name: string): boolean {
  return SECRET_NAME.test(name) && !NOT_SECRET.test(name);
}
