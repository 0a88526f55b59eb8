/**
 * The `vercel` verifier preset: `x-vercel-signature`, hex HMAC-SHA1 of the raw body under the
 * webhook's secret (or, for an integration's webhooks, the integration's client secret).
 */
import { z } from 'zod';
import { type BodySignature, bodySignatureVerifier } from './body-signature.ts';
import { replayWindowField, secretsField } from './signing.ts';
import type { VerifierPlugin } from './types.ts';

// https://vercel.com/docs/webhooks/webhooks-api#securing-webhooks

const SCHEME: BodySignature = { header: 'x-vercel-signature', algorithm: 'sha1', encoding: 'hex' };

const schema = z
  .strictObject({
    type: z.literal('vercel'),
    secrets: secretsField(
      "The webhook's secret (shown once when the webhook is created), or the integration's client secret for an integration's webhooks.",
      ['${VERCEL_WEBHOOK_SECRET}'],
    ),
    replayWindow: replayWindowField('the signature (Vercel sends no message id header)'),
  })
  .meta({
    title: 'vercel',
    description:
      'Vercel webhooks: `x-vercel-signature`, hex HMAC-SHA1 of the raw body. Vercel signs no timestamp; use `replayWindow` against replays.',
  });

export const vercelVerifier: VerifierPlugin<typeof schema> = {
  type: 'vercel',
  description: 'Vercel webhook signature (x-vercel-signature, HMAC-SHA1), optional replay window.',
  schema,
  preset: {
    provider: 'Vercel',
    headers: ['x-vercel-signature'],
    signed: 'the raw body',
    scheme: 'HMAC-SHA1, hex',
    tolerance: 'none (Vercel signs no timestamp): use `replayWindow`',
    rotation: 'several `secrets`',
    docs: 'https://vercel.com/docs/webhooks/webhooks-api#securing-webhooks',
    example: 'type: vercel\nsecrets: ["${VERCEL_WEBHOOK_SECRET}"]\nreplayWindow: 1h',
    notes:
      "Account and team webhooks are signed with the secret Vercel shows once when the webhook is created; webhooks of an integration are signed with the integration's client secret. The event id is in the body (`id`), not in a header: `replayWindow` remembers the signature, so a byte-identical resend is refused. SHA-1 is what Vercel uses; it is still sound as an HMAC.",
  },
  create: (config) => bodySignatureVerifier(SCHEME, config.secrets, config.replayWindow),
};
