/**
 * The `intercom` verifier preset: `X-Hub-Signature: sha1=<hex HMAC-SHA1 of the raw body>`, keyed
 * by the app's client secret.
 */
import { z } from 'zod';
import { type BodySignature, bodySignatureVerifier } from './body-signature.ts';
import { replayWindowField, secretsField } from './signing.ts';
import type { VerifierPlugin } from './types.ts';

// https://developers.intercom.com/docs/webhooks/setting-up-webhooks#signed-notifications

const SCHEME: BodySignature = {
  header: 'X-Hub-Signature',
  algorithm: 'sha1',
  encoding: 'hex',
  prefix: 'sha1=',
};

const schema = z
  .strictObject({
    type: z.literal('intercom'),
    secrets: secretsField("The app's `client_secret` (Developer Hub, Basic Information).", [
      '${INTERCOM_CLIENT_SECRET}',
    ]),
    replayWindow: replayWindowField('the signature (Intercom sends no delivery id header)'),
  })
  .meta({
    title: 'intercom',
    description:
      'Intercom webhooks: `X-Hub-Signature: sha1=<hex>`, HMAC-SHA1 of the raw body keyed by the app client secret. Intercom signs no timestamp; use `replayWindow` against replays.',
  });

export const intercomVerifier: VerifierPlugin<typeof schema> = {
  type: 'intercom',
  description: 'Intercom webhook signature (X-Hub-Signature: sha1=<hex>), optional replay window.',
  schema,
  preset: {
    provider: 'Intercom',
    headers: ['X-Hub-Signature'],
    signed: 'the raw body',
    scheme: 'HMAC-SHA1, hex, prefixed `sha1=`',
    tolerance: 'none (Intercom signs no timestamp): use `replayWindow`',
    rotation:
      "several `secrets`: list the new and the old client secret while the app's secret is being changed, then remove the old one",
    docs: 'https://developers.intercom.com/docs/webhooks/setting-up-webhooks',
    example: 'type: intercom\nsecrets: ["${INTERCOM_CLIENT_SECRET}"]\nreplayWindow: 10m',
    notes:
      "The key is the app's client secret, not an access token. The notification's `id` and `created_at` are inside the signed body, but no header carries them, so `replayWindow` remembers the signature: a byte-identical resend is refused. HMAC-SHA1 is what Intercom sends; there is no SHA-256 variant to ask for.",
  },
  create: (config) => bodySignatureVerifier(SCHEME, config.secrets, config.replayWindow),
};
