/**
 * What a verifier sees: the request as received, body as raw bytes, before any parsing. Only a
 * verifier can turn a received request into a verified one; routes without `verify` accept any
 * caller, and that is an explicit choice in the config.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ReplayKeys, ReplayWindow } from './replay.ts';

export interface VerifyRequest {
  method: string;
  /** Path and query exactly as received (`/in/orders?x=1`). */
  url: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The TCP peer address (before any proxy header is considered). */
  remoteAddress: string;
}

/** Bounded reasons, used as a metric label. */
export type FailureReason =
  | 'missing'
  | 'malformed'
  | 'mismatch'
  | 'expired'
  | 'replayed'
  | 'forbidden'
  /** The shared replay window (Redis) could not be asked: refused with 503, the sender retries. */
  | 'unavailable';

/** A pass may name the message (id, matched signature) for the verifier's replay window. */
export type VerifyResult = ({ ok: true } & ReplayKeys) | { ok: false; reason: FailureReason; detail: string };

export interface Verifier {
  verify(request: VerifyRequest, now: number): VerifyResult | Promise<VerifyResult>;
  /**
   * Present when the verifier remembers messages (`replayWindow`). The relay claims a passing
   * message once every check passed, and releases it when its answer is not 2xx.
   */
  replay?: ReplayWindow | undefined;
}

export interface VerifierInfo {
  routeId: string;
  index: number;
  /** `verify[0] (github)` */
  name: string;
}

export const pass: VerifyResult = { ok: true };

/** A pass carrying what the replay window remembers; the signature is the expected value that matched. */
export function passed(messageId: string | undefined, signature: string): VerifyResult {
  return { ok: true, messageId, signature };
}

export function fail(reason: FailureReason, detail: string): VerifyResult {
  return { ok: false, reason, detail };
}

/** First value of a header, trimmed; undefined when absent or empty. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const raw = headers[name.toLowerCase()];
  const value = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  return value ? value : undefined;
}
