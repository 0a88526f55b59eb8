/**
 * The `square` verifier preset: `x-square-hmacsha256-signature`, base64 HMAC-SHA256 under the
 * subscription's signature key of the notification URL (the public URL Square calls) followed by
 * the raw body. Square signs no timestamp: use `replayWindow` against replays.
 */
import { z } from 'zod';
import { findMatch } from './compare.ts';
import { createReplayWindow } from './replay.ts';
import { BASE64_SHA256, macs, publicUrlField, replayWindowField, secretsField } from './signing.ts';
import { signedUrls } from './twilio.ts';
import { fail, headerValue, passed, type VerifierPlugin } from './types.ts';

// https://developer.squareup.com/docs/webhooks/step3validate
const DOCS = 'https://developer.squareup.com/docs/webhooks/step3validate';

const schema = z
  .strictObject({
    type: z.literal('square'),
    secrets: secretsField("The webhook subscription's Signature Key (Developer Console → Webhooks).", [
      '${SQUARE_SIGNATURE_KEY}',
    ]),
    publicUrl: publicUrlField(
      'The scheme, host (and any path prefix) of the notification URL Square calls, in front of your proxy: Square signs that URL, and hookrelay behind a proxy cannot see it. The path and query as received are appended; the result must be the notification URL exactly as entered in Square.',
    ),
    replayWindow: replayWindowField(
      'the signature (Square sends no message id header; a retry is signed alike)',
    ),
  })
  .meta({
    title: 'square',
    description:
      'Square webhooks: `x-square-hmacsha256-signature`, base64 HMAC-SHA256 of the notification URL (`publicUrl` + path and query) followed by the raw body. No timestamp is signed; use `replayWindow`.',
  });

export const squareVerifier: VerifierPlugin<typeof schema> = {
  type: 'square',
  description: 'Square webhook signature (x-square-hmacsha256-signature over the notification URL and body).',
  schema,
  preset: {
    provider: 'Square',
    headers: ['x-square-hmacsha256-signature'],
    signed: 'the notification URL (`publicUrl` + path and query as received) followed by the raw body',
    scheme: 'HMAC-SHA256, base64',
    tolerance: 'none: use `replayWindow`',
    rotation:
      'Square sends one signature; while replacing the Signature Key, list the new and the old one in `secrets`.',
    docs: DOCS,
    example: 'type: square\nsecrets: ["${SQUARE_SIGNATURE_KEY}"]\npublicUrl: https://hooks.example.com',
    notes:
      'The URL must be the notification URL of the subscription exactly (scheme, host, path, query); `:443`/`:80` written out or not both pass. Square signs no timestamp and its retries carry the same signature, so `replayWindow` also refuses a retry of a message that was answered 2xx.',
  },
  create(config) {
    return {
      replay: config.replayWindow === undefined ? undefined : createReplayWindow(config.replayWindow),
      verify(request) {
        const header = headerValue(request.headers, 'x-square-hmacsha256-signature');
        if (!header) return fail('missing', 'no x-square-hmacsha256-signature header');
        if (!BASE64_SHA256.test(header))
          return fail('malformed', 'x-square-hmacsha256-signature is not a base64 SHA-256');
        const expected = signedUrls(config.publicUrl, request.url).flatMap((url) =>
          macs('sha256', config.secrets, [url, request.body], 'base64'),
        );
        const match = findMatch([header], expected);
        if (match === undefined) return fail('mismatch', 'signature does not match');
        return passed(undefined, match);
      },
    };
  },
};
