/**
 * What a provider handshake sees and how it answers. A handshake is the provider's check that an
 * endpoint is really the subscriber's (Slack's `url_verification`, Meta's `hub.challenge`, X's
 * CRC…): the relay answers it by itself and never forwards it. A handshake recognises only its own
 * call and leaves every other call alone (undefined), so the route goes on as configured.
 *
 * The challenge a provider sends is echoed back: content an attacker controls, reflected by our
 * host. So echoed text is bounded (CHALLENGE_LIMIT bytes), must be printable (no control
 * characters) and goes out as `text/plain` with `nosniff` and a sandboxing CSP, or inside JSON.
 * A call that is the provider's handshake but whose challenge is missing or malformed is refused
 * (400, HOOKRELAY_ERR_HANDSHAKE_MALFORMED): it is never forwarded to the target either.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { isJsonObject, parseJsonText } from '../core/json.ts';

export interface HandshakeRequest {
  method: string;
  /** The query as received, decoded. */
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The raw body, as received. */
  body: Buffer;
  /**
   * The body parsed as JSON, once, on first call, within the route's `limits.jsonDepth`; undefined
   * when it is not JSON (or nested deeper than the limit).
   */
  json(): unknown;
}

/** Bounded words, used as a metric label: the token did not match, or the challenge is unusable. */
export type RefusalReason = 'forbidden' | 'malformed';

export type HandshakeReply =
  | { kind: 'answer'; status: number; headers: Record<string, string>; body: string }
  | { kind: 'refuse'; reason: RefusalReason; detail: string };

export interface Handshake {
  /**
   * The provider signs its handshake like its other calls: it is answered only once the route's
   * `verify` passed. Unsigned handshakes are answered before `verify` (they carry no signature).
   */
  signed: boolean;
  /** The methods the provider sends its handshake with (accepted for the handshake only). */
  methods: readonly string[];
  /**
   * Cheap test on the method, query, headers and raw bytes, never parsing: whether the call may be
   * the handshake. Ordinary calls stop here.
   */
  candidate(request: HandshakeRequest): boolean;
  /** The answer when the call is the handshake; undefined when it is not (the call goes on). */
  answer(request: HandshakeRequest): HandshakeReply | undefined;
}

/** The most bytes of a challenge echoed back (providers send a few dozen). */
export const CHALLENGE_LIMIT = 2048;

// Control characters (C0, DEL, C1) and line or paragraph separators: nothing a provider sends,
// everything a header, log or response splitting needs.
const CONTROL = /[\p{Cc}\p{Zl}\p{Zp}]/u;

/** The challenge when it is usable, else the refusal saying why (its value is never quoted). */
export function challenge(value: unknown, name: string): string | HandshakeReply {
  if (typeof value !== 'string' || value === '') return refuse('malformed', `no ${name}`);
  if (Buffer.byteLength(value) > CHALLENGE_LIMIT)
    return refuse('malformed', `${name} is longer than ${CHALLENGE_LIMIT} bytes`);
  if (CONTROL.test(value)) return refuse('malformed', `${name} contains control characters`);
  return value;
}

/** The only value of a query parameter; a repeated one is ambiguous and refused like a bad one. */
export function single(query: URLSearchParams, name: string): unknown {
  const values = query.getAll(name);
  return values.length === 1 ? values[0] : undefined;
}

export function refuse(reason: RefusalReason, detail: string): HandshakeReply {
  return { kind: 'refuse', reason, detail };
}

const REFLECTED = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; sandbox",
  'cache-control': 'no-store',
};

/** 200 with the echoed text, which a browser must neither sniff nor render. */
export function plainText(text: string): HandshakeReply {
  const headers = { 'content-type': 'text/plain; charset=utf-8', ...REFLECTED };
  return { kind: 'answer', status: 200, headers, body: text };
}

export function jsonAnswer(value: Record<string, string>): HandshakeReply {
  const headers = { 'content-type': 'application/json; charset=utf-8', ...REFLECTED };
  return { kind: 'answer', status: 200, headers, body: JSON.stringify(value) };
}

/** A header's value when sent once; undefined when absent or repeated. */
export function headerOnce(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** The request a handshake sees, its JSON parsed lazily within `jsonDepth`. */
export function handshakeRequest(
  method: string,
  query: URLSearchParams,
  headers: IncomingHttpHeaders,
  body: Buffer,
  jsonDepth: number,
): HandshakeRequest {
  let parsed: { value: unknown } | undefined;
  return {
    method,
    query,
    headers,
    body,
    json() {
      if (parsed === undefined) {
        try {
          parsed = { value: parseJsonText(body.toString('utf8'), jsonDepth) };
        } catch {
          parsed = { value: undefined };
        }
      }
      return parsed.value;
    },
  };
}

/** A JSON object's field, or undefined when the value is not an object. */
export function field(value: unknown, name: string): unknown {
  return isJsonObject(value) ? value[name] : undefined;
}
