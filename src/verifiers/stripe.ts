/**
 * The `stripe` verifier preset: `Stripe-Signature: t=<timestamp>,v1=<hex>` over
 * `<timestamp>.<body>`, within a tolerance.
 */
import { z } from 'zod';
import { findMatch } from './compare.ts';
import { createReplayWindow } from './replay.ts';
import {
  checkTimestamp,
  macs,
  parseTimestampedSignatures,
  replayWindowField,
  secretsField,
  toleranceField,
} from './signing.ts';
import { fail, headerValue, passed, type VerifierPlugin } from './types.ts';

// https://docs.stripe.com/webhooks#verify-manually

const schema = z
  .strictObject({
    type: z.literal('stripe'),
    secrets: secretsField("The endpoint's signing secret (`whsec_…`), used as is.", [
      '${STRIPE_WEBHOOK_SECRET}',
    ]),
    tolerance: toleranceField(),
    replayWindow: replayWindowField('the signature (Stripe signs each attempt anew, so its retries pass)'),
  })
  .meta({
    title: 'stripe',
    description:
      'Stripe webhooks: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=…]`, HMAC-SHA256 of `{t}.{body}`, `t` within `tolerance`. Other schemes (`v0`) are ignored.',
  });

export const stripeVerifier: VerifierPlugin<typeof schema> = {
  type: 'stripe',
  description: 'Stripe webhook signature (Stripe-Signature, several v1 signatures, timestamp tolerance).',
  schema,
  preset: {
    provider: 'Stripe',
    headers: ['Stripe-Signature'],
    signed: '`{t}.{body}`',
    scheme: 'HMAC-SHA256, hex (`v1=`)',
    tolerance: '`tolerance` on `t`, default 5m',
    rotation: 'several `secrets`; any of several `v1=` in the header (Stripe signs with both while rolling)',
    docs: 'https://docs.stripe.com/webhooks#verify-manually',
    example: 'type: stripe\nsecrets: ["${STRIPE_WEBHOOK_SECRET}"]\ntolerance: 5m',
    notes:
      "The endpoint's signing secret (`whsec_…`) is used as is. Any matching `v1` is enough; other schemes such as `v0` are ignored.",
  },
  create(config) {
    return {
      replay: config.replayWindow === undefined ? undefined : createReplayWindow(config.replayWindow),
      verify(request, now) {
        const header = headerValue(request.headers, 'stripe-signature');
        if (!header) return fail('missing', 'no Stripe-Signature header');
        const { timestamp, signatures: v1 } = parseTimestampedSignatures(header);
        if (timestamp === undefined || v1.length === 0)
          return fail('malformed', 'Stripe-Signature lacks t= or v1=');
        const refused = checkTimestamp(timestamp, 'Stripe-Signature t', now, config.tolerance);
        if (refused) return refused;
        const match = findMatch(v1, macs('sha256', config.secrets, [`${timestamp}.`, request.body], 'hex'));
        if (match === undefined) return fail('mismatch', 'no v1 signature matches');
        return passed(undefined, match);
      },
    };
  },
};
