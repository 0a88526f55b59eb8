/**
 * The `standardWebhooks` verifier preset: `webhook-signature` over `<id>.<timestamp>.<body>` with
 * a `whsec_` secret, several signatures accepted during a rotation.
 */
import { z } from 'zod';
import { configCode } from '../core/config-codes.ts';
import type { Plugin } from '../core/registry.ts';
import { findMatch } from './compare.ts';
import { createReplayWindow } from './replay.ts';
import { checkTimestamp, macs, replayWindowField, secretsField, toleranceField } from './signing.ts';
import { fail, headerValue, passed, type Verifier } from './types.ts';

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

const schema = z
  .strictObject({
    type: z.literal('standard-webhooks'),
    secrets: secretsField('Signing secrets, `whsec_<base64>` (the prefix is optional).', [
      '${WEBHOOK_SECRET}',
    ]),
    tolerance: toleranceField(),
    replayWindow: replayWindowField('`webhook-id` (which is signed)'),
  })
  .superRefine((config, ctx) => {
    config.secrets.forEach((secret, index) => {
      // Never quote the value: it is a secret.
      if (!secretKey(secret))
        ctx.addIssue({
          code: 'custom',
          params: configCode('HOOKRELAY_CONFIG_INVALID_VALUE'),
          path: ['secrets', index],
          message: 'is not a whsec_<base64> secret',
        });
    });
  })
  .meta({
    title: 'standard-webhooks',
    description:
      'Standard Webhooks (Svix and others): `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64> [v1,<base64> …]`, HMAC-SHA256 of `{id}.{timestamp}.{body}`.',
  });

export const standardWebhooksVerifier: Plugin<typeof schema, Verifier> = {
  type: 'standard-webhooks',
  description:
    'Standard Webhooks signature (webhook-id, webhook-timestamp, webhook-signature; whsec_ secrets).',
  schema,
  create(config) {
    const keys = config.secrets.map((secret) => secretKey(secret)!);
    return {
      replay: config.replayWindow === undefined ? undefined : createReplayWindow(config.replayWindow),
      verify(request, now) {
        const { headers } = request;
        const id = headerValue(headers, 'webhook-id');
        const signature = headerValue(headers, 'webhook-signature');
        if (!id || !signature) return fail('missing', `no ${id ? 'webhook-signature' : 'webhook-id'} header`);
        const timestamp = headerValue(headers, 'webhook-timestamp');
        const refused = checkTimestamp(timestamp, 'webhook-timestamp', now, config.tolerance);
        if (refused) return refused;
        // Space-separated `version,signature` pairs; only v1 (HMAC-SHA256) is ours to check.
        const candidates = signature
          .split(' ')
          .filter((entry) => entry.startsWith('v1,'))
          .map((entry) => entry.slice(3));
        if (candidates.length === 0) return fail('malformed', 'webhook-signature has no v1 signature');
        const match = findMatch(
          candidates,
          macs('sha256', keys, [`${id}.${timestamp}.`, request.body], 'base64'),
        );
        if (match === undefined) return fail('mismatch', 'no v1 signature matches');
        return passed(id, match);
      },
    };
  },
};
