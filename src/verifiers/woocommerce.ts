/**
 * The `woocommerce` verifier preset: `X-WC-Webhook-Signature`, base64 HMAC-SHA256 of the raw body
 * under the webhook's secret. The replay window remembers the signature only (see the notes).
 */
import { z } from 'zod';
import { type BodySignature, bodySignatureVerifier } from './body-signature.ts';
import { replayWindowField, secretsField } from './signing.ts';
import type { VerifierPlugin } from './types.ts';

// https://woocommerce.github.io/woocommerce-rest-api-docs/#webhooks
// WC_Webhook::deliver() and generate_signature() in
// https://github.com/woocommerce/woocommerce/blob/trunk/plugins/woocommerce/includes/class-wc-webhook.php
// sign the JSON body as sent; deliver_ping() posts `webhook_id=<id>` with no signature at all.
// get_new_delivery_id() is wp_hash(webhook id . unix second): two deliveries of one webhook in the
// same second share it, so it cannot be a message id here (the second would be refused).

const SCHEME: BodySignature = {
  header: 'X-WC-Webhook-Signature',
  algorithm: 'sha256',
  encoding: 'base64',
  missingHint: 'the creation ping is unsigned',
};

const schema = z
  .strictObject({
    type: z.literal('woocommerce'),
    secrets: secretsField(
      "The webhook's secret, as entered in WooCommerce (Settings → Advanced → Webhooks).",
      ['${WOOCOMMERCE_WEBHOOK_SECRET}'],
    ),
    replayWindow: replayWindowField(
      'the signature (not `X-WC-Webhook-Delivery-ID`, which two deliveries in the same second share)',
    ),
  })
  .meta({
    title: 'woocommerce',
    description:
      'WooCommerce webhooks: `X-WC-Webhook-Signature`, base64 HMAC-SHA256 of the raw body. WooCommerce signs no timestamp; use `replayWindow` against replays. The unsigned creation ping is refused here; a `woocommerce` handshake on the route answers it.',
  });

export const woocommerceVerifier: VerifierPlugin<typeof schema> = {
  type: 'woocommerce',
  description: 'WooCommerce webhook signature (X-WC-Webhook-Signature), optional replay window.',
  schema,
  preset: {
    provider: 'WooCommerce',
    headers: ['X-WC-Webhook-Signature'],
    signed: 'the raw body (the JSON payload exactly as WooCommerce encoded it)',
    scheme: 'HMAC-SHA256, base64',
    tolerance: 'none (WooCommerce signs no timestamp): use `replayWindow`',
    rotation:
      'several `secrets` (WooCommerce has one secret per webhook: list the old and the new one while you change it)',
    docs: 'https://woocommerce.github.io/woocommerce-rest-api-docs/#webhooks',
    example: 'type: woocommerce\nsecrets: ["${WOOCOMMERCE_WEBHOOK_SECRET}"]\nreplayWindow: 1h',
    handshake: 'type: woocommerce',
    notes:
      "When a webhook is saved as active or its delivery URL changes, WooCommerce first sends a ping: a form body `webhook_id=<id>` **with no signature and no `X-WC-Webhook-*` headers** (`WC_Webhook::deliver_ping()`), and its admin page shows *Delivery URL returned response code: …* unless it gets 200. Add `handshake: { type: woocommerce }` to the route: it answers that exact body 200 (empty) before this check and never forwards it. Anyone can send that body, so all it gets a caller is the 200; every other unsigned call still meets this preset's 401 (`missing`). Without the handshake the ping is refused 401 and never forwarded: WooCommerce has saved the webhook anyway (the REST API ignores the ping's answer), and the signed deliveries that follow pass. Only the topic headers (`X-WC-Webhook-Topic`, `-Resource`, `-Event`, `-Source`, `-ID`) are not signed: read the topic from the verified body if it matters. WooCommerce signs with SHA-256 unless a plugin changes the `woocommerce_webhook_hash_algorithm` filter (not supported). `replayWindow` remembers the signature: a byte-identical resend is refused. It does not use `X-WC-Webhook-Delivery-ID`, a hash of the webhook id and the current second that two genuine deliveries of one webhook within a second share (and that is not signed).",
  },
  create: (config) => bodySignatureVerifier(SCHEME, config.secrets, config.replayWindow),
};
