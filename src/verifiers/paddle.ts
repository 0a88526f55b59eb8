/**
 * The `paddle` verifier preset (Paddle Billing): `Paddle-Signature: ts=<unix>;h1=<hex>[;h1=…]`,
 * HMAC-SHA256 under the notification destination's secret key of `{ts}:{raw body}`, `ts` within a
 * tolerance (default 5 s, as Paddle's SDKs).
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

// https://developer.paddle.com/webhooks/signature-verification
const DOCS = 'https://developer.paddle.com/webhooks/signature-verification';

const PADDLE_STYLE = { separator: ';', timestamp: 'ts', signature: 'h1' };

const schema = z
  .strictObject({
    type: z.literal('paddle'),
    secrets: secretsField(
      "The notification destination's endpoint secret key (`pdl_ntfset_…`), used as is.",
      ['${PADDLE_WEBHOOK_SECRET}'],
    ),
    tolerance: duration(
      "How far `ts` may be from now, either way. Paddle's SDKs refuse a signature more than 5 seconds old; widen it if the clocks drift.",
      '5s',
    ).default(5_000),
    replayWindow: replayWindowField(
      'the signature (Paddle signs each delivery attempt anew, so its retries pass)',
    ),
  })
  .meta({
    title: 'paddle',
    description:
      'Paddle Billing webhooks: `Paddle-Signature: ts=<unix>;h1=<hex>[;h1=…]`, HMAC-SHA256 of `{ts}:{body}`, `ts` within `tolerance` (default 5s, as Paddle’s SDKs).',
  });

export const paddleVerifier: VerifierPlugin<typeof schema> = {
  type: 'paddle',
  description: 'Paddle Billing webhook signature (Paddle-Signature ts and h1, timestamp tolerance).',
  schema,
  preset: {
    provider: 'Paddle Billing',
    headers: ['Paddle-Signature'],
    signed: '`{ts}:{raw body}`',
    scheme: 'HMAC-SHA256, hex',
    tolerance: "`tolerance`, default 5s (Paddle's SDKs refuse a signature more than 5 seconds old)",
    rotation:
      'While a secret key is rotated Paddle may send several `h1=` values, any one matching passes; list the new and the old key in `secrets`.',
    docs: DOCS,
    example: 'type: paddle\nsecrets: ["${PADDLE_WEBHOOK_SECRET}"]',
    notes:
      "The 5 s default follows Paddle's SDKs and needs a synchronised clock (NTP); a clock that drifts gets `expired`, raise `tolerance` then. Paddle Classic (`p_signature` in the form body, RSA) is a different scheme and is not covered.",
  },
  create(config) {
    return {
      replay: config.replayWindow === undefined ? undefined : createReplayWindow(config.replayWindow),
      verify(request, now) {
        const header = headerValue(request.headers, 'paddle-signature');
        if (!header) return fail('missing', 'no Paddle-Signature header');
        const { timestamp: ts, signatures: h1 } = parseTimestampedSignatures(
          header,
          HEX_SHA256,
          PADDLE_STYLE,
        );
        if (ts === undefined || h1.length === 0)
          return fail('malformed', 'Paddle-Signature lacks ts= or an h1= of 64 hex digits');
        const refused = checkTimestamp(ts, 'Paddle-Signature ts', now, config.tolerance);
        if (refused) return refused;
        const match = findMatch(h1, macs('sha256', config.secrets, [`${ts}:`, request.body], 'hex'));
        if (match === undefined) return fail('mismatch', 'no h1 signature matches');
        return passed(undefined, match);
      },
    };
  },
};
