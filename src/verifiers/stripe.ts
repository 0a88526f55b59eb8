/**
 * The `stripe` verifier preset: `Stripe-Signature: t=<timestamp>,v1=<hex>` over
 * `<timestamp>.<body>`, within a tolerance.
 */
import { z } from 'zod';
import type { Plugin } from '../core/registry.ts';
import { findMatch } from './compare.ts';
import { createReplayWindow } from './replay.ts';
import { checkTimestamp, macs, replayWindowField, secretsField, toleranceField } from './signing.ts';
import { fail, headerValue, passed, type Verifier } from './types.ts';

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

/** `t=…,v1=…,v1=…,v0=…` → the timestamp and every v1 signature; other keys are ignored. */
export function parseStripeSignature(header: string): { timestamp: string | undefined; v1: string[] } {
  let timestamp: string | undefined;
  const v1: string[] = [];
  for (const item of header.split(',')) {
    const eq = item.indexOf('=');
    if (eq === -1) continue;
    const key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    if (key === 't') timestamp = value;
    else if (key === 'v1' && value) v1.push(value.toLowerCase());
  }
  return { timestamp, v1 };
}

export const stripeVerifier: Plugin<typeof schema, Verifier> = {
  type: 'stripe',
  description: 'Stripe webhook signature (Stripe-Signature, several v1 signatures, timestamp tolerance).',
  schema,
  create(config) {
    return {
      replay: config.replayWindow === undefined ? undefined : createReplayWindow(config.replayWindow),
      verify(request, now) {
        const header = headerValue(request.headers, 'stripe-signature');
        if (!header) return fail('missing', 'no Stripe-Signature header');
        const { timestamp, v1 } = parseStripeSignature(header);
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
