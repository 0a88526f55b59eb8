/**
 * One OAuth2 token request (RFC 6749 §4.4, client credentials): the form post to the token
 * endpoint within the attempt's deadline, the answer read within a small bound and checked before
 * its token is used.
 */
import { request } from 'undici';
import { HookrelayError } from '../core/errors.ts';
import { BodyTooLargeError, readLimited } from '../core/read-limited.ts';
import type { Token } from './token-cache.ts';
import type { AuthContext } from './types.ts';

/** A token answer is a small JSON object; anything larger is not one. */
const MAX_ANSWER = 64 * 1024;
/** What can go into `Authorization: Bearer …` as is (RFC 6750 §2.1's b64token is stricter still). */
const VISIBLE_ASCII = /^[!-~]+$/;

export interface TokenRequest {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  clientAuth: 'basic' | 'body';
  scope?: string | undefined;
  audience?: string | undefined;
  params: Readonly<Record<string, string>>;
  timeout: number;
  refreshBefore: number;
  defaultLifetime: number;
}

export type TokenOutcome = 'success' | 'http_error' | 'invalid_response' | 'network_error' | 'timeout';

class TokenFailure extends Error {
  readonly outcome: TokenOutcome;
  constructor(outcome: TokenOutcome, message: string) {
    super(message);
    this.outcome = outcome;
  }
}

/** application/x-www-form-urlencoded, as RFC 6749 §2.3.1 requires before Basic encoding. */
function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

/**
 * One client credentials grant (RFC 6749 §4.4) against the token endpoint. Failures become
 * HOOKRELAY_ERR_AUTH_TOKEN, quoting the status and the RFC 6749 §5.2 `error` code only: never the
 * secret, the token or the rest of the answer.
 */
export async function requestToken(
  spec: TokenRequest,
  context: AuthContext | undefined,
  now: () => number,
  closed: AbortSignal,
): Promise<Token> {
  const count = (outcome: TokenOutcome) =>
    context?.metrics?.authTokenRequests.inc({ route: context.routeId, outcome });
  const timeout = AbortSignal.timeout(spec.timeout);
  try {
    const token = await exchange(spec, now, AbortSignal.any([closed, timeout]));
    count('success');
    return token;
  } catch (error) {
    const failure =
      error instanceof TokenFailure
        ? error
        : timeout.aborted
          ? new TokenFailure('timeout', `gave no answer within ${spec.timeout} ms`)
          : new TokenFailure('network_error', `unreachable (${networkReason(error)})`);
    count(failure.outcome);
    throw new HookrelayError('HOOKRELAY_ERR_AUTH_TOKEN', { reason: `token endpoint ${failure.message}` });
  }
}

async function exchange(spec: TokenRequest, now: () => number, signal: AbortSignal): Promise<Token> {
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (spec.scope) form.set('scope', spec.scope);
  if (spec.audience) form.set('audience', spec.audience);
  for (const [name, value] of Object.entries(spec.params)) form.set(name, value);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  if (spec.clientAuth === 'basic') {
    const pair = `${formEncode(spec.clientId)}:${formEncode(spec.clientSecret)}`;
    headers.authorization = `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
  } else {
    form.set('client_id', spec.clientId);
    form.set('client_secret', spec.clientSecret);
  }
  const started = now();
  // Tokens are fetched once per lifetime: a fresh connection each time, none left open.
  const response = await request(spec.tokenUrl, {
    method: 'POST',
    headers,
    body: form.toString(),
    signal,
    reset: true,
  });
  const text = await readAnswer(response.body);
  if (response.statusCode < 200 || response.statusCode >= 300) {
    const code = errorCode(text);
    throw new TokenFailure('http_error', `answered ${response.statusCode}${code ? ` (${code})` : ''}`);
  }
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    throw new TokenFailure('invalid_response', `answered ${response.statusCode} without a JSON body`);
  }
  const fields = (typeof answer === 'object' && answer !== null ? answer : {}) as Record<string, unknown>;
  const value = fields.access_token;
  if (typeof value !== 'string' || !VISIBLE_ASCII.test(value)) {
    throw new TokenFailure(
      'invalid_response',
      `answered ${response.statusCode} without a usable access_token`,
    );
  }
  // RFC 6749 §7.1: a client must not use a token whose type it does not understand.
  const type = fields.token_type;
  if (type !== undefined && (typeof type !== 'string' || type.toLowerCase() !== 'bearer')) {
    throw new TokenFailure(
      'invalid_response',
      `issued a token of type '${String(type).slice(0, 32)}', not Bearer`,
    );
  }
  const expiresIn = Number(fields.expires_in);
  const lifetime =
    fields.expires_in !== undefined &&
    fields.expires_in !== null &&
    Number.isFinite(expiresIn) &&
    expiresIn >= 0
      ? expiresIn * 1000
      : spec.defaultLifetime;
  // Refresh a little before expiry, so a token never expires on its way to the target; for a
  // short-lived token at most half its lifetime, so it is still used at all.
  const margin = Math.min(spec.refreshBefore, lifetime / 2);
  return { value, freshUntil: started + lifetime - margin };
}

async function readAnswer(body: AsyncIterable<unknown> & { destroy(): unknown }): Promise<string> {
  try {
    const read = await readLimited(body, MAX_ANSWER, { abandon: () => body.destroy() });
    return read.body.toString('utf8');
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) throw error;
    throw new TokenFailure('invalid_response', `answer exceeds ${MAX_ANSWER} bytes`);
  }
}

/** The RFC 6749 §5.2 `error` code of an error answer, when it is a plain token. */
function errorCode(text: string): string | undefined {
  try {
    const code = (JSON.parse(text) as { error?: unknown }).error;
    return typeof code === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}

function networkReason(error: unknown): string {
  let current = error as { code?: string; message?: string; cause?: unknown } | undefined;
  while (current?.cause && typeof current.cause === 'object') current = current.cause as typeof current;
  return current?.code ?? current?.message ?? 'network error';
}
