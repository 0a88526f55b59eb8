/**
 * Public keys for the asymmetric presets (Ed25519, ECDSA P-256), read once from the config through
 * `node:crypto` and checked against each received signature. A key is given as PEM, as base64 DER
 * (SubjectPublicKeyInfo, what SendGrid's console shows), or for Ed25519 as the 32 raw bytes in hex
 * (what Discord's developer portal shows). Public keys are not secrets, but several may be listed
 * for a rotation like secrets.
 */
import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import { z } from 'zod';
import { configCode } from '../core/config-codes.ts';

export type KeyKind = 'ed25519' | 'p256';

// The DER SubjectPublicKeyInfo header of an Ed25519 key (RFC 8410): the raw 32 bytes follow it.
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex');

function load(text: string): KeyObject {
  const value = text.trim();
  if (value.startsWith('-----BEGIN')) return createPublicKey(value);
  if (/^[0-9a-fA-F]{64}$/.test(value))
    return createPublicKey({
      key: Buffer.concat([ED25519_SPKI, Buffer.from(value, 'hex')]),
      format: 'der',
      type: 'spki',
    });
  if (!/^[A-Za-z0-9+/=\s]+$/.test(value)) throw new Error('not PEM, base64 DER or hex');
  return createPublicKey({ key: Buffer.from(value, 'base64'), format: 'der', type: 'spki' });
}

/** The key, or why it is not one of `kind`. */
export function parsePublicKey(text: string, kind: KeyKind): KeyObject | string {
  let key: KeyObject;
  try {
    key = load(text);
  } catch {
    return kind === 'ed25519'
      ? 'is not an Ed25519 public key (PEM, base64 DER or 64 hex digits)'
      : 'is not an ECDSA public key (PEM or base64 DER)';
  }
  if (kind === 'ed25519' && key.asymmetricKeyType !== 'ed25519') return 'is not an Ed25519 public key';
  if (
    kind === 'p256' &&
    (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
  )
    return 'is not an ECDSA P-256 (prime256v1) public key';
  return key;
}

/** The config field of public keys: each must parse as `kind` (checked with the config). */
export function publicKeysField(kind: KeyKind, description: string, example: string[]) {
  return z
    .array(z.string().min(1))
    .min(1)
    .superRefine((keys, ctx) => {
      keys.forEach((text, index) => {
        const parsed = parsePublicKey(text, kind);
        if (typeof parsed === 'string')
          ctx.addIssue({
            code: 'custom',
            params: configCode('HOOKRELAY_CONFIG_INVALID_VALUE'),
            path: [index],
            message: parsed,
          });
      });
    })
    .meta({ description: `${description} List several to rotate: the new one and the old one.`, example });
}

/** The configured keys, parsed (the schema has checked them already). */
export function publicKeys(texts: readonly string[], kind: KeyKind): KeyObject[] {
  return texts.map((text) => {
    const key = parsePublicKey(text, kind);
    if (typeof key === 'string') throw new Error(`public key ${key}`);
    return key;
  });
}

/**
 * Whether `signature` over `data` verifies under any of `keys`. ECDSA signatures are DER
 * (`dsaEncoding: 'der'`, as SendGrid sends them) unless `p1363` (r‖s, 64 bytes) is asked for.
 */
export function verifiedByAny(
  keys: readonly KeyObject[],
  kind: KeyKind,
  data: Buffer,
  signature: Buffer,
  encoding: 'der' | 'ieee-p1363' = 'der',
): boolean {
  let ok = false;
  for (const key of keys) {
    try {
      const good =
        kind === 'ed25519'
          ? verify(null, data, key, signature)
          : verify('sha256', data, { key, dsaEncoding: encoding }, signature);
      if (good) ok = true;
    } catch {
      // A signature of the wrong length or shape verifies under no key.
    }
  }
  return ok;
}

/**
 * What the replay window remembers of a message verified under a public key: a digest of the key
 * that verified it and of the signed bytes; undefined when no key verifies `signature`. Not the
 * signature itself: an ECDSA signature can be re-randomised by whoever replays it, and so could
 * slip past a window that remembered signatures.
 */
export function verifiedMessageKey(
  keys: readonly KeyObject[],
  kind: KeyKind,
  data: Buffer,
  signature: Buffer,
): string | undefined {
  let found: KeyObject | undefined;
  // Every key is tried (no early exit); the first that verified names the message.
  for (const key of keys) if (verifiedByAny([key], kind, data, signature) && found === undefined) found = key;
  if (found === undefined) return undefined;
  return createHash('sha256')
    .update(
      createHash('sha256')
        .update(found.export({ format: 'der', type: 'spki' }))
        .digest('hex'),
    )
    .update(data)
    .digest('hex');
}
