/**
 * What a verifier sees: the request as received, body as raw bytes, before any parsing. Only a
 * verifier can turn a received request into a verified one; routes without `verify` accept any
 * caller, and that is an explicit choice in the config.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { z } from 'zod';
import type { Plugin } from '../core/registry.ts';
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

/**
 * What the provider preset table in docs/security.md says about a preset (generated from the
 * registry, like the configuration reference). Every provider preset carries one.
 */
export interface PresetDoc {
  /** The provider's name as users search for it: `Square`, `Twitch EventSub`. */
  provider: string;
  /** The request headers the check reads, as the provider spells them. */
  headers: string[];
  /** What is signed, exactly (Markdown): `` `{timestamp}.{body}` `` or "the raw body". */
  signed: string;
  /** The scheme: `HMAC-SHA256, hex`, `Ed25519, hex`, `shared token`. */
  scheme: string;
  /** The timestamp rule: `` `tolerance`, default 5m `` or `none: use replayWindow`. */
  tolerance: string;
  /** How rotation works for this provider (several `secrets`, several signature headers…). */
  rotation: string;
  /** The provider's own document for the scheme. */
  docs: string;
  /** A route's `verify` list item, YAML, copyable (tested: it must parse as a verifier). */
  example: string;
  /** The route's `handshake` block where the provider has one (YAML, tested likewise). */
  handshake?: string;
  /** Anything a user must know: what else is signed, what the provider does not sign (Markdown). */
  notes?: string;
}

/** A verifier plugin; a provider preset adds its `preset` for the docs' table. */
export type VerifierPlugin<S extends z.ZodType> = Plugin<S, Verifier> & { preset?: PresetDoc };
