/** Pieces shared by the signature verifiers (generic `hmac` and the provider presets). */
import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { duration } from '../core/fields.ts';
import { fail, type VerifyResult } from './types.ts';

export type HmacAlgorithm = 'sha1' | 'sha256' | 'sha512';

/**
 * The MAC of `parts` (written one after the other, raw bytes as they are) under each key, in the
 * keys' order: the values a received signature is compared against.
 */
export function macs(
  algorithm: HmacAlgorithm,
  keys: readonly (string | Buffer)[],
  parts: readonly (string | Buffer)[],
  encoding: 'hex' | 'base64',
): string[] {
  return keys.map((key) => {
    const mac = createHmac(algorithm, key);
    for (const part of parts) mac.update(part);
    return mac.digest(encoding);
  });
}

export const secretsField = (description: string, example: string[]) =>
  z
    .array(z.string().min(1).meta({ secret: true }))
    .min(1)
    .meta({ description: `${description} List several to rotate: the new one and the old one.`, example });

export const toleranceField = () =>
  duration('How far the signed timestamp may be from now, either way (replay protection).', '5m').default(
    300_000,
  );

export const replayWindowField = (remembers: string) =>
  duration(
    `Remember each verified message for this long and refuse it again (401, reason \`replayed\`). Remembers ${remembers}. A message whose answer was not 2xx is forgotten again, so the sender's retry gets through. Per process (at most 100000 messages per check, oldest forgotten first), or shared by every instance in Redis with \`queue.driver: redis\` (docs/scale-out.md).`,
    '10m',
  ).optional();

/** Unix seconds written as a plain integer → ms; undefined for anything else. */
export function unixSeconds(value: string): number | undefined {
  return /^\d{1,12}$/.test(value) ? Number(value) * 1000 : undefined;
}

/**
 * A signed timestamp must be present, a number, and within `tolerance` of now in either
 * direction (a clock a little ahead is tolerated, a far-future one is not). Undefined when fine.
 */
export function checkTimestamp(
  raw: string | undefined,
  header: string,
  now: number,
  tolerance: number,
  parse: (value: string) => number | undefined = unixSeconds,
): VerifyResult | undefined {
  if (!raw) return fail('missing', `no ${header} header`);
  const at = parse(raw);
  if (at === undefined) return fail('malformed', `${header} is not a Unix timestamp`);
  if (Math.abs(now - at) > tolerance) return fail('expired', `${header} outside the tolerance`);
  return undefined;
}
