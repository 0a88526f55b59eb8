/**
 * The `intuit` verifier preset (QuickBooks Online webhooks): `intuit-signature`, base64
 * HMAC-SHA256 of the raw body under the app's verifier token.
 */
import { z } from 'zod';
import { type BodySignature, bodySignatureVerifier } from './body-signature.ts';
import { replayWindowField, secretsField } from './signing.ts';
import type { VerifierPlugin } from './types.ts';

// https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/managing-webhooks-notifications#validating-the-notification

const SCHEME: BodySignature = { header: 'intuit-signature', algorithm: 'sha256', encoding: 'base64' };

const schema = z
  .strictObject({
    type: z.literal('intuit'),
    secrets: secretsField(
      'The webhooks verifier token of the Intuit app (Development or Production → Webhooks → Show token), not the OAuth client secret.',
      ['${INTUIT_VERIFIER_TOKEN}'],
    ),
    replayWindow: replayWindowField('the signature (Intuit sends no message id header)'),
  })
  .meta({
    title: 'intuit',
    description:
      'Intuit QuickBooks Online webhooks: `intuit-signature`, base64 HMAC-SHA256 of the raw body under the verifier token. Intuit signs no timestamp; use `replayWindow` against replays.',
  });

export const intuitVerifier: VerifierPlugin<typeof schema> = {
  type: 'intuit',
  description: 'Intuit QuickBooks Online webhook signature (intuit-signature), optional replay window.',
  schema,
  preset: {
    provider: 'Intuit QuickBooks Online',
    headers: ['intuit-signature'],
    signed: 'the raw body',
    scheme: 'HMAC-SHA256, base64',
    tolerance: 'none (Intuit signs no timestamp): use `replayWindow`',
    rotation:
      'several `secrets` (the development and the production verifier token are different: list both on a route that receives both)',
    docs: 'https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/managing-webhooks-notifications#validating-the-notification',
    example: 'type: intuit\nsecrets: ["${INTUIT_VERIFIER_TOKEN}"]\nreplayWindow: 1h',
    notes:
      "The key is the webhooks *verifier token*, not the OAuth client secret. Intuit's documentation compares the HMAC with the header decoded to hex; comparing the base64 strings is the same check. Intuit resends a notification it got no 2xx for: the retry has the same body and signature, and `replayWindow` lets it through because a refused or failed call is forgotten.",
  },
  create: (config) => bodySignatureVerifier(SCHEME, config.secrets, config.replayWindow),
};
