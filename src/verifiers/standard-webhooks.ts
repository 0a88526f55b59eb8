/**
 * The `standardWebhooks` verifier preset: `webhook-signature` over `<id>.<timestamp>.<body>` with
 * a `whsec_` secret, several signatures accepted during a rotation.
 */
import { z } from 'zod';
import { configCode } from '../core/config-codes.ts';
import { findMatch } from './compare.ts';
import { createReplayWindow } from './replay.ts';
import { checkTimestamp, macs, replayWindowField, secretsField, toleranceField } from './signing.ts';
import {
  fail,
  headerValue,
  passed,
  type VerifierPlugin,
  type VerifyRequest,
  type VerifyResult,
} from './types.ts';

// https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
// Like the reference library, a secret is base64 with an optional `whsec_` prefix.
const SECRET = /^(?:whsec_)?([A-Za-z0-9+/]+={0,2})$/;

/** The HMAC key of a `whsec_<base64>` secret; undefined when it is not one. */
export function secretKey(secret: string): Buffer | undefined {
  const base64 = SECRET.exec(secret.trim())?.[1];
  if (!base64) return undefined;
  const key = Buffer.from(base64, 'base64');
  return key.length > 0 ? key : undefined;
}

/** The header names a Standard Webhooks sender uses (Svix-branded senders prefix them `svix-`). */
export interface StandardHeaders {
  id: string;
  timestamp: string;
  signature: string;
}

const STANDARD_HEADERS: StandardHeaders = {
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
};

/**
 * The Standard Webhooks check under `names`: `{id}.{timestamp}.{body}` HMAC-SHA256 under each key,
 * the timestamp within `tolerance`, any of the space-separated `v1,<base64>` signatures matching.
 */
export function verifyStandardWebhook(
  request: VerifyRequest,
  now: number,
  keys: readonly Buffer[],
  tolerance: number,
  names: StandardHeaders,
): VerifyResult {
  const { headers } = request;
  const id = headerValue(headers, names.id);
  const signature = headerValue(headers, names.signature);
  if (!id || !signature) return fail('missing', `no ${id ? names.signature : names.id} header`);
  const timestamp = headerValue(headers, names.timestamp);
  const refused = checkTimestamp(timestamp, names.timestamp, now, tolerance);
  if (refused) return refused;
  // Space-separated `version,signature` pairs; only v1 (HMAC-SHA256) is ours to check.
  const candidates = signature
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => entry.slice(3));
  if (candidates.length === 0) return fail('malformed', `${names.signature} has no v1 signature`);
  const match = findMatch(candidates, macs('sha256', keys, [`${id}.${timestamp}.`, request.body], 'base64'));
  if (match === undefined) return fail('mismatch', 'no v1 signature matches');
  return passed(id, match);
}

/** The schema check of `whsec_<base64>` secrets (shared with the `svix` preset); never quotes one. */
export function checkWhsecSecrets(config: { secrets: string[] }, ctx: z.core.$RefinementCtx): void {
  config.secrets.forEach((secret, index) => {
    if (!secretKey(secret))
      ctx.addIssue({
        code: 'custom',
        params: configCode('HOOKRELAY_CONFIG_INVALID_VALUE'),
        path: ['secrets', index],
        message: 'is not a whsec_<base64> secret',
      });
  });
}

const schema = z
  .strictObject({
    type: z.literal('standard-webhooks'),
    secrets: secretsField('Signing secrets, `whsec_<base64>` (the prefix is optional).', [
      '${WEBHOOK_SECRET}',
    ]),
    tolerance: toleranceField(),
    replayWindow: replayWindowField('`webhook-id` (which is signed)'),
  })
  .superRefine(checkWhsecSecrets)
  .meta({
    title: 'standard-webhooks',
    description:
      'Standard Webhooks (Svix and others): `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64> [v1,<base64> …]`, HMAC-SHA256 of `{id}.{timestamp}.{body}`.',
  });

export const standardWebhooksVerifier: VerifierPlugin<typeof schema> = {
  type: 'standard-webhooks',
  description:
    'Standard Webhooks signature (webhook-id, webhook-timestamp, webhook-signature; whsec_ secrets).',
  schema,
  preset: {
    provider: 'Standard Webhooks',
    headers: ['webhook-id', 'webhook-timestamp', 'webhook-signature'],
    signed: '`{webhook-id}.{webhook-timestamp}.{body}`',
    scheme: 'HMAC-SHA256, base64 (`v1,`), key from a `whsec_<base64>` secret',
    tolerance: '`tolerance`, default 5m',
    rotation: 'several `secrets`; any of several space-separated `v1,` signatures',
    docs: 'https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md',
    example: 'type: standard-webhooks\nsecrets: ["${WEBHOOK_SECRET}"]\ntolerance: 5m\nreplayWindow: 10m',
    notes:
      "Used by every sender built on the specification, and by hookrelay's own outbound signing; senders signing through Svix send the same scheme under `svix-` headers (the `svix` preset). Like the reference library, the `whsec_` prefix is optional; a secret that is not base64 is a configuration error. Asymmetric `v1a` signatures are not supported. The id is signed, so `replayWindow` by `webhook-id` cannot be dodged by changing it.",
  },
  create(config) {
    const keys = config.secrets.map((secret) => secretKey(secret)!);
    return {
      replay: config.replayWindow === undefined ? undefined : createReplayWindow(config.replayWindow),
      verify: (request, now) => verifyStandardWebhook(request, now, keys, config.tolerance, STANDARD_HEADERS),
    };
  },
};
