/**
 * Standard Webhooks (https://www.standardwebhooks.com/, spec/standard-webhooks.md): the secret is
 * base64 with an optional `whsec_` prefix; the signature is base64(HMAC-SHA256(key,
 * `${webhook-id}.${webhook-timestamp}.${body}`)), sent as `v1,<signature>`, several separated by
 * spaces so a receiver holding either the old or the new secret accepts during a rotation.
 */
import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { configCode } from '../core/config-codes.ts';
import type { Plugin } from '../core/registry.ts';
import type { Signer } from './types.ts';

const PREFIX = 'whsec_';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function standardWebhooksKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
}

const secret = z
  .string()
  .refine(
    (value) => {
      const bare = value.startsWith(PREFIX) ? value.slice(PREFIX.length) : value;
      return bare.length > 0 && BASE64.test(bare);
    },
    // Never quote the value: it is a secret.
    {
      params: configCode('HOOKRELAY_CONFIG_INVALID_VALUE'),
      message:
        'must be a base64 key, optionally prefixed with whsec_ (e.g. whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw)',
    },
  )
  .meta({ secret: true });

const schema = z
  .strictObject({
    type: z.literal('standard-webhooks'),
    secrets: z
      .array(secret)
      .min(1)
      .meta({
        description:
          'Signing secrets (`whsec_` + base64). With several, each signs and all signatures are sent, so the receiver can rotate.',
        example: ['${TARGET_WEBHOOK_SECRET}'],
      }),
  })
  .meta({
    title: 'standard-webhooks',
    description:
      'Standard Webhooks signature: `webhook-id` (stable across retries), `webhook-timestamp`, `webhook-signature: v1,<base64>`.',
  });

export const standardWebhooksSigner: Plugin<typeof schema, Signer> = {
  type: 'standard-webhooks',
  description:
    'Signs as Standard Webhooks: `webhook-id` (the delivery id, the same on every attempt), `webhook-timestamp` (Unix seconds of the attempt) and `webhook-signature` (`v1,<base64 HMAC-SHA256>`), accepted by any Standard Webhooks verifier.',
  schema,
  create(config) {
    const keys = config.secrets.map(standardWebhooksKey);
    return {
      signatureHeaders: ['webhook-signature'],
      sign(request, { id, now }) {
        const timestamp = String(Math.floor(now / 1000));
        const body = request.body ?? Buffer.alloc(0);
        request.headers['webhook-id'] = id;
        request.headers['webhook-timestamp'] = timestamp;
        request.headers['webhook-signature'] = keys
          .map((key) => {
            const mac = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body);
            return `v1,${mac.digest('base64')}`;
          })
          .join(' ');
      },
    };
  },
};
