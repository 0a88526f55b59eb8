/**
 * The `typeform` verifier preset: `Typeform-Signature: sha256=<base64 HMAC-SHA256 of the raw body>`.
 */
import { z } from 'zod';
import { type BodySignature, bodySignatureVerifier } from './body-signature.ts';
import { replayWindowField, secretsField } from './signing.ts';
import type { VerifierPlugin } from './types.ts';

// https://www.typeform.com/developers/webhooks/secure-your-webhooks/

const SCHEME: BodySignature = {
  header: 'Typeform-Signature',
  algorithm: 'sha256',
  encoding: 'base64',
  prefix: 'sha256=',
};

const schema = z
  .strictObject({
    type: z.literal('typeform'),
    secrets: secretsField(
      "The webhook's `secret`, as set through Typeform's Webhooks API or form settings.",
      ['${TYPEFORM_WEBHOOK_SECRET}'],
    ),
    replayWindow: replayWindowField('the signature (Typeform sends no delivery id header)'),
  })
  .meta({
    title: 'typeform',
    description:
      'Typeform webhooks: `Typeform-Signature: sha256=<base64>`, HMAC-SHA256 of the raw body. Typeform signs no timestamp; use `replayWindow` against replays.',
  });

export const typeformVerifier: VerifierPlugin<typeof schema> = {
  type: 'typeform',
  description: 'Typeform webhook signature (Typeform-Signature: sha256=<base64>), optional replay window.',
  schema,
  preset: {
    provider: 'Typeform',
    headers: ['Typeform-Signature'],
    signed: 'the raw body',
    scheme: 'HMAC-SHA256, base64, prefixed `sha256=`',
    tolerance: 'none (Typeform signs no timestamp): use `replayWindow`',
    rotation:
      "several `secrets`: list the new and the old secret, update the webhook's secret in Typeform, then remove the old one",
    docs: 'https://www.typeform.com/developers/webhooks/secure-your-webhooks/',
    example: 'type: typeform\nsecrets: ["${TYPEFORM_WEBHOOK_SECRET}"]\nreplayWindow: 10m',
    notes:
      'Typeform signs only when the webhook has a `secret`; without one it sends no `Typeform-Signature` and every call is refused (`missing`). No header carries a delivery id, so `replayWindow` remembers the signature: a byte-identical resend is refused. The body (including `event_id`) is signed byte for byte.',
  },
  create: (config) => bodySignatureVerifier(SCHEME, config.secrets, config.replayWindow),
};
