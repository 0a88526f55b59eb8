/**
 * What `hookrelay try` and `hookrelay test` show of a request: the route's credentials applied (so
 * the output says where they go) but never their values. Whatever the auth plugin sets is found by
 * applying it twice, to an empty probe and to the real request, and comparing, so a new plugin is
 * covered without a list to maintain. Every value the configuration took from `${VAR}` or
 * `${file:…}` (SecretValues) is hidden wherever it appears, and so are headers and query
 * parameters whose names say they carry a credential (a caller's `X-Api-Key` or `?token=`).
 */
import type { OutboundAuth } from '../auth/types.ts';
import type { OutboundRequest } from '../core/message.ts';
import { isSecretHeaderName, isSecretParamName } from '../core/secret-names.ts';
import { REDACTED, SecretValues } from '../core/secret-values.ts';
import type { Signer } from '../signers/types.ts';

export { REDACTED };

export interface Authorised {
  /** Exactly what would be sent: compare expectations against this. */
  request: OutboundRequest;
  /** Header names (lower case) and query parameter names whose values must not be shown. */
  secretHeaders: Set<string>;
  secretParams: Set<string>;
}

export interface Shown {
  method: string;
  url: string;
  /** Sorted by name. */
  headers: Record<string, string>;
}

function copy(request: OutboundRequest): OutboundRequest {
  return { ...request, url: new URL(request.url), headers: { ...request.headers } };
}

/**
 * Credentials a plugin would fetch (OAuth2) are previewed, never fetched: nothing is contacted.
 * Signatures are computed for real over what would be sent (`id` as the message id) and shown
 * redacted, with their id and timestamp headers readable.
 */
export async function authorise(
  request: OutboundRequest,
  auth: OutboundAuth | undefined,
  signing: { sign: readonly Signer[]; id: string } = { sign: [], id: '' },
): Promise<Authorised> {
  const applied = copy(request);
  const secretHeaders = new Set<string>();
  const secretParams = new Set<string>();
  if (auth) {
    const probe: OutboundRequest = {
      method: request.method,
      url: new URL(request.url.origin + request.url.pathname),
      headers: {},
      body: request.body,
    };
    const apply = async (target: OutboundRequest) =>
      auth.preview ? auth.preview(target) : await auth.apply(target);
    await apply(probe);
    for (const name of Object.keys(probe.headers)) secretHeaders.add(name.toLowerCase());
    for (const name of probe.url.searchParams.keys()) secretParams.add(name);
    await apply(applied);
    for (const [name, value] of Object.entries(applied.headers)) {
      if (request.headers[name] !== value) secretHeaders.add(name.toLowerCase());
    }
    for (const [name, value] of applied.url.searchParams) {
      if (!request.url.searchParams.getAll(name).includes(value)) secretParams.add(name);
    }
  }
  const now = Date.now();
  for (const signer of signing.sign) {
    signer.sign(applied, { id: signing.id, now });
    for (const name of signer.signatureHeaders) secretHeaders.add(name);
  }
  for (const name of Object.keys(applied.headers)) {
    if (isSecretHeaderName(name)) secretHeaders.add(name.toLowerCase());
  }
  for (const name of applied.url.searchParams.keys()) {
    if (isSecretParamName(name)) secretParams.add(name);
  }
  return { request: applied, secretHeaders, secretParams };
}

/** `Bearer abc` → `Bearer <redacted>` for Authorization headers; any other secret → `<redacted>`. */
export function redactHeader(name: string, value: string): string {
  if (/authorization$/i.test(name)) {
    const scheme = /^([A-Za-z][\w!#$%&'*+.^`|~-]*) +\S/.exec(value);
    if (scheme) return `${scheme[1]} ${REDACTED}`;
  }
  return REDACTED;
}

/** The URL as text, secret parameter values replaced by `<redacted>` (left readable, not encoded). */
export function redactUrl(url: URL, secretParams: ReadonlySet<string>): string {
  if (!url.search || secretParams.size === 0) return url.href;
  const parts: string[] = [];
  for (const [name, value] of url.searchParams) {
    const key = new URLSearchParams([[name, '']]).toString().slice(0, -1);
    parts.push(
      `${key}=${secretParams.has(name) ? REDACTED : new URLSearchParams([['', value]]).toString().slice(1)}`,
    );
  }
  return `${url.origin}${url.pathname}?${parts.join('&')}${url.hash}`;
}

export function shown(authorised: Authorised, secrets: SecretValues = SecretValues.none): Shown {
  const { request, secretHeaders, secretParams } = authorised;
  const headers: Record<string, string> = {};
  for (const name of Object.keys(request.headers).sort()) {
    const value = request.headers[name]!;
    headers[name] = secretHeaders.has(name.toLowerCase()) ? redactHeader(name, value) : secrets.redact(value);
  }
  return { method: request.method, url: secrets.redact(redactUrl(request.url, secretParams)), headers };
}
