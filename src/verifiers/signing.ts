/** Pieces shared by the signature verifiers (generic `hmac` and the provider presets). */
import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { configCode } from '../core/config-codes.ts';
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

/** Unix milliseconds written as a plain integer; undefined for anything else. */
export function unixMillis(value: string): number | undefined {
  return /^\d{1,15}$/.test(value) ? Number(value) : undefined;
}

/** The digests signatures are compared as, well-formed: hex and padded base64 SHA-256. */
export const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;
export const BASE64_SHA256 = /^[A-Za-z0-9+/]{43}=$/;

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
  format = 'a Unix timestamp',
): VerifyResult | undefined {
  if (!raw) return fail('missing', `no ${header} header`);
  const at = parse(raw);
  if (at === undefined) return fail('malformed', `${header} is not ${format}`);
  if (Math.abs(now - at) > tolerance) return fail('expired', `${header} outside the tolerance`);
  return undefined;
}

/** Why `value` cannot be the public base URL a provider signs, or undefined when it can. */
export function publicUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL such as https://hooks.example.com';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http or https URL';
  if (url.search || url.hash || url.username || url.password)
    return 'must be scheme, host and optional path prefix only (no query, fragment or credentials)';
  return undefined;
}

/**
 * The public base URL of the relay, for providers that sign the URL they called (Twilio, Square,
 * HubSpot): behind a proxy the relay cannot see it. The path and query as received are appended.
 */
export const publicUrlField = (description: string) =>
  z
    .string()
    .superRefine((value, ctx) => {
      const problem = publicUrlProblem(value);
      if (problem)
        ctx.addIssue({
          code: 'custom',
          params: configCode('HOOKRELAY_CONFIG_INVALID_VALUE'),
          message: problem,
        });
    })
    .meta({ description, example: 'https://hooks.example.com' });

/** How a provider writes its timestamped signature header: `t=…,v1=…` (Stripe, Calendly), `ts=…;h1=…` (Paddle). */
export interface SignatureParams {
  separator: string;
  timestamp: string;
  signature: string;
}

const STRIPE_STYLE: SignatureParams = { separator: ',', timestamp: 't', signature: 'v1' };

/**
 * `t=<timestamp>,v1=<sig>,v1=<sig>,…` (or another `form`): the timestamp and every signature
 * value (lower-cased) that `accept` takes; other keys are ignored.
 */
export function parseTimestampedSignatures(
  header: string,
  accept: RegExp = /./,
  form: SignatureParams = STRIPE_STYLE,
): { timestamp: string | undefined; signatures: string[] } {
  let timestamp: string | undefined;
  const signatures: string[] = [];
  for (const item of header.split(form.separator)) {
    const eq = item.indexOf('=');
    if (eq === -1) continue;
    const key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    if (key === form.timestamp) timestamp = value;
    else if (key === form.signature && accept.test(value)) signatures.push(value.toLowerCase());
  }
  return { timestamp, signatures };
}
