/**
 * The check most providers share: one header carrying an HMAC of the raw body, optionally behind a
 * prefix (`sha256=`), hex or base64, with the provider's delivery id (if it sends one) naming the
 * message for the replay window. The presets built on it (GitHub, Bitbucket, Intercom, Typeform,
 * Sentry, Vercel, Xero, Intuit, WooCommerce) differ only in these values.
 */
import { findMatch } from './compare.ts';
import { createReplayWindow } from './replay.ts';
import { type HmacAlgorithm, macs } from './signing.ts';
import { fail, headerValue, passed, type Verifier } from './types.ts';

export interface BodySignature {
  /** The signature header, as the provider spells it (read case-insensitively). */
  header: string;
  algorithm: HmacAlgorithm;
  encoding: 'hex' | 'base64';
  /** Text in front of the signature (`sha256=`); absent when the value is the signature alone. */
  prefix?: string;
  /** The provider's per-delivery id header, remembered by the replay window with the signature. */
  idHeader?: string;
  /** Said when the header is missing, after `no <header> header` (why a call may lack it). */
  missingHint?: string;
}

const BYTES: Record<HmacAlgorithm, number> = { sha1: 20, sha256: 32, sha512: 64 };

/** The shape of a well-formed value: the prefix, then exactly one digest in the encoding. */
function pattern(scheme: BodySignature): { test: RegExp; shape: string } {
  const bytes = BYTES[scheme.algorithm];
  const prefix = (scheme.prefix ?? '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  if (scheme.encoding === 'hex')
    return { test: new RegExp(`^${prefix}([0-9a-fA-F]{${bytes * 2}})$`), shape: `<${bytes * 2} hex digits>` };
  const chars = Math.ceil(bytes / 3) * 4;
  const pad = chars - Math.ceil((bytes * 4) / 3);
  return {
    test: new RegExp(`^${prefix}([A-Za-z0-9+/]{${chars - pad}}={${pad}})$`),
    shape: `<base64 ${scheme.algorithm.toUpperCase().replace('SHA', 'SHA-')}>`,
  };
}

export function bodySignatureVerifier(
  scheme: BodySignature,
  secrets: readonly string[],
  replayWindow: number | undefined,
): Verifier {
  const { test, shape } = pattern(scheme);
  return {
    replay: replayWindow === undefined ? undefined : createReplayWindow(replayWindow),
    verify(request) {
      const header = headerValue(request.headers, scheme.header);
      if (!header)
        return fail(
          'missing',
          `no ${scheme.header} header${scheme.missingHint ? ` (${scheme.missingHint})` : ''}`,
        );
      const given = test.exec(header)?.[1];
      if (!given) return fail('malformed', `${scheme.header} is not ${scheme.prefix ?? ''}${shape}`);
      const candidate = scheme.encoding === 'hex' ? given.toLowerCase() : given;
      const match = findMatch([candidate], macs(scheme.algorithm, secrets, [request.body], scheme.encoding));
      if (match === undefined) return fail('mismatch', 'signature does not match');
      return passed(
        scheme.idHeader === undefined ? undefined : headerValue(request.headers, scheme.idHeader),
        match,
      );
    },
  };
}
