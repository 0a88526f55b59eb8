/**
 * The `shopify` verifier preset: `X-Shopify-Hmac-Sha256`, base64 of HMAC-SHA256 over the raw body.
 */
import { z } from 'zod';
import { findMatch } from './compare.ts';
import { createReplayWindow } from './replay.ts';
import { BASE64_SHA256, macs, replayWindowField, secretsField } from './signing.ts';
import { fail, headerValue, passed, type VerifierPlugin } from './types.ts';

// https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-2-validate-the-origin-of-your-webhook-to-ensure-its-coming-from-shopify
// Webhooks send X-Shopify-*; the newer event subscriptions send the same headers without `X-`
// (as @shopify/shopify-api reads them).

const schema = z
  .strictObject({
    type: z.literal('shopify'),
    secrets: secretsField("The app's client secret (or the store's webhook signing secret).", [
      '${SHOPIFY_WEBHOOK_SECRET}',
    ]),
    replayWindow: replayWindowField('`X-Shopify-Webhook-Id` and the signature'),
  })
  .meta({
    title: 'shopify',
    description:
      'Shopify webhooks: `X-Shopify-Hmac-Sha256`, base64 HMAC-SHA256 of the raw body. Shopify signs no timestamp; use `replayWindow` against replays.',
  });

export const shopifyVerifier: VerifierPlugin<typeof schema> = {
  type: 'shopify',
  description: 'Shopify webhook signature (X-Shopify-Hmac-Sha256), optional replay window by webhook id.',
  schema,
  preset: {
    provider: 'Shopify',
    headers: ['X-Shopify-Hmac-Sha256', 'Shopify-Hmac-Sha256', 'X-Shopify-Webhook-Id'],
    signed: 'the raw body',
    scheme: 'HMAC-SHA256, base64',
    tolerance: 'none (Shopify signs no timestamp): use `replayWindow`',
    rotation: 'several `secrets`',
    docs: 'https://shopify.dev/docs/apps/build/webhooks/subscribe/https',
    example: 'type: shopify\nsecrets: ["${SHOPIFY_CLIENT_SECRET}"]\nreplayWindow: 1h',
    notes:
      "The key is the app's client secret. The newer `Shopify-Hmac-Sha256` (without `X-`) is read too. `replayWindow` remembers `X-Shopify-Webhook-Id` and the signature.",
  },
  create(config) {
    return {
      replay: config.replayWindow === undefined ? undefined : createReplayWindow(config.replayWindow),
      verify(request) {
        const { headers } = request;
        const header =
          headerValue(headers, 'x-shopify-hmac-sha256') ?? headerValue(headers, 'shopify-hmac-sha256');
        if (!header) return fail('missing', 'no X-Shopify-Hmac-Sha256 header');
        if (!BASE64_SHA256.test(header))
          return fail('malformed', 'X-Shopify-Hmac-Sha256 is not a base64 SHA-256');
        const match = findMatch([header], macs('sha256', config.secrets, [request.body], 'base64'));
        if (match === undefined) return fail('mismatch', 'signature does not match');
        const id = headerValue(headers, 'x-shopify-webhook-id') ?? headerValue(headers, 'shopify-webhook-id');
        return passed(id, match);
      },
    };
  },
};
