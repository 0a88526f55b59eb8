/**
 * The `calendly` verifier preset: `Calendly-Webhook-Signature: t=<unix>,v1=<hex>`, HMAC-SHA256
 * under the webhook signing key of `{t}.{raw body}`, `t` within a tolerance (default 3 minutes, as
 * Calendly's document suggests).
 */
import { z } from 'zod';
import { duration } from '../core/fields.ts';
import { findMatch } from './compare.ts';
import { createReplayWindow } from './replay.ts';
import {
  checkTimestamp,
  HEX_SHA256,
  macs,
  parseTimestampedSignatures,
  replayWindowField,
  secretsField,
} from './signing.ts';
import { fail, headerValue, passed, type VerifierPlugin } from './types.ts';

// https://developer.calendly.com/api-docs/overview/webhooks/webhook-signatures
const DOCS = 'https://developer.calendly.com/api-docs/overview/webhooks/webhook-signatures';

const schema = z
  .strictObject({
    type: z.literal('calendly'),
    secrets: secretsField(
      "The webhook subscription's signing key (the `signing_key` given when creating it, or the OAuth app's webhook signing key).",
      ['${CALENDLY_WEBHOOK_SIGNING_KEY}'],
    ),
    tolerance: duration(
      'How far `t` may be from now, either way (replay protection). Calendly suggests 3 minutes.',
      '3m',
    ).default(180_000),
    replayWindow: replayWindowField('the signature (Calendly sends no message id header)'),
  })
  .meta({
    title: 'calendly',
    description:
      'Calendly webhooks: `Calendly-Webhook-Signature: t=<unix>,v1=<hex>`, HMAC-SHA256 of `{t}.{body}`, `t` within `tolerance` (default 3m).',
  });

export const calendlyVerifier: VerifierPlugin<typeof schema> = {
  type: 'calendly',
  description: 'Calendly webhook signature (Calendly-Webhook-Signature t and v1, timestamp tolerance).',
  schema,
  preset: {
    provider: 'Calendly',
    headers: ['Calendly-Webhook-Signature'],
    signed: '`{t}.{raw body}`',
    scheme: 'HMAC-SHA256, hex',
    tolerance: '`tolerance`, default 3m (Calendly suggests 3 minutes)',
    rotation:
      'Calendly sends one v1 signature; to change the signing key, recreate the subscription and list the new and the old key meanwhile.',
    docs: DOCS,
    example: 'type: calendly\nsecrets: ["${CALENDLY_WEBHOOK_SIGNING_KEY}"]',
    notes:
      'A subscription created without a `signing_key` (personal access tokens) is not signed at all: give it one, or this check refuses every call.',
  },
  create(config) {
    return {
      replay: config.replayWindow === undefined ? undefined : createReplayWindow(config.replayWindow),
      verify(request, now) {
        const header = headerValue(request.headers, 'calendly-webhook-signature');
        if (!header) return fail('missing', 'no Calendly-Webhook-Signature header');
        const { timestamp: t, signatures: v1 } = parseTimestampedSignatures(header, HEX_SHA256);
        if (t === undefined || v1.length === 0)
          return fail('malformed', 'Calendly-Webhook-Signature lacks t= or a v1= of 64 hex digits');
        const refused = checkTimestamp(t, 'Calendly-Webhook-Signature t', now, config.tolerance);
        if (refused) return refused;
        const match = findMatch(v1, macs('sha256', config.secrets, [`${t}.`, request.body], 'hex'));
        if (match === undefined) return fail('mismatch', 'no v1 signature matches');
        return passed(undefined, match);
      },
    };
  },
};
