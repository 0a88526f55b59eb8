/**
 * The `xero` verifier preset: `x-xero-signature`, base64 HMAC-SHA256 of the raw body under the
 * app's webhook key. Xero's "Intent to Receive" check is answered by the ordinary verification.
 */
import { z } from 'zod';
import { type BodySignature, bodySignatureVerifier } from './body-signature.ts';
import { replayWindowField, secretsField } from './signing.ts';
import type { VerifierPlugin } from './types.ts';

// https://developer.xero.com/documentation/guides/webhooks/configuring-your-server/

const SCHEME: BodySignature = { header: 'x-xero-signature', algorithm: 'sha256', encoding: 'base64' };

const schema = z
  .strictObject({
    type: z.literal('xero'),
    secrets: secretsField('The webhook key of the Xero app (My Apps → the app → Webhooks), used as is.', [
      '${XERO_WEBHOOK_KEY}',
    ]),
    replayWindow: replayWindowField('the signature (Xero sends no message id header)'),
  })
  .meta({
    title: 'xero',
    description:
      'Xero webhooks: `x-xero-signature`, base64 HMAC-SHA256 of the raw body. Xero signs no timestamp; use `replayWindow` against replays.',
  });

export const xeroVerifier: VerifierPlugin<typeof schema> = {
  type: 'xero',
  description: 'Xero webhook signature (x-xero-signature), optional replay window.',
  schema,
  preset: {
    provider: 'Xero',
    headers: ['x-xero-signature'],
    signed: 'the raw body',
    scheme: 'HMAC-SHA256, base64',
    tolerance: 'none (Xero signs no timestamp): use `replayWindow`',
    rotation:
      'several `secrets` (Xero has one webhook key per app: list the old and the new one while you change it)',
    docs: 'https://developer.xero.com/documentation/guides/webhooks/configuring-your-server/',
    example: 'type: xero\nsecrets: ["${XERO_WEBHOOK_KEY}"]\nreplayWindow: 1h',
    notes:
      'Xero\'s *Intent to Receive* check (when a subscription is created, re-enabled or its URL changed) posts correctly and incorrectly signed payloads `{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"…"}` and expects 200 for the first and 401 for the others: the ordinary verification gives exactly that, so no `handshake` is needed, provided the route answers the verified call with 200 within 5 seconds (the correctly signed ones are forwarded to the target like any event). Xero also asks for no body and no cookies in the answer: where the target\'s answer has either, give the route a `respond` block (status 200, no body). The webhook key is the base64-looking string Xero shows, used as the HMAC key as it is (not base64-decoded). `replayWindow` remembers the signature: each check payload carries fresh `entropy`, so they do not collide.',
  },
  create: (config) => bodySignatureVerifier(SCHEME, config.secrets, config.replayWindow),
};
