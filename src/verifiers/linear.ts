/**
 * The `linear` verifier preset: `Linear-Signature`, hex HMAC-SHA256 of the raw body, and the
 * signed body's `webhookTimestamp` (Unix ms) within a minute of now, Linear's documented rule.
 * The timestamp is inside the body: it is read, with a depth-bounded parse, only once the
 * signature matched (the body is then Linear's own bytes).
 */
import { z } from 'zod';
import { duration } from '../core/fields.ts';
import { isJsonObject, isNumber, parseJsonText, toDouble } from '../core/json.ts';
import { findMatch } from './compare.ts';
import { createReplayWindow } from './replay.ts';
import { HEX_SHA256, macs, replayWindowField, secretsField } from './signing.ts';
import { fail, headerValue, passed, type VerifierPlugin } from './types.ts';

// https://linear.app/developers/webhooks#securing-webhooks
// Linear's payloads are a few levels deep; a deeper body is not Linear's shape.
const JSON_DEPTH = 64;

const schema = z
  .strictObject({
    type: z.literal('linear'),
    secrets: secretsField("The webhook's signing secret, as Linear shows it on the webhook's page.", [
      '${LINEAR_WEBHOOK_SECRET}',
    ]),
    tolerance: duration(
      "How far the body's signed `webhookTimestamp` may be from now, either way (replay protection). Linear documents one minute.",
      '1m',
    ).default(60_000),
    replayWindow: replayWindowField('`Linear-Delivery` and the signature'),
  })
  .meta({
    title: 'linear',
    description:
      "Linear webhooks: `Linear-Signature`, hex HMAC-SHA256 of the raw body; the body's `webhookTimestamp` (Unix ms) within `tolerance` (default 1m).",
  });

/** The top-level `webhookTimestamp` (ms) of a body already verified; undefined when absent, a string for why it is unusable. */
function webhookTimestamp(body: Buffer): number | string | undefined {
  let parsed: unknown;
  try {
    parsed = parseJsonText(body.toString('utf8'), JSON_DEPTH);
  } catch {
    return 'the body is not JSON';
  }
  if (!isJsonObject(parsed)) return 'the body is not a JSON object';
  const value = parsed.webhookTimestamp;
  if (value === undefined) return undefined;
  return isNumber(value) ? toDouble(value) : 'webhookTimestamp must be a number (Unix ms)';
}

export const linearVerifier: VerifierPlugin<typeof schema> = {
  type: 'linear',
  description: 'Linear webhook signature (Linear-Signature over the raw body, webhookTimestamp within 1m).',
  schema,
  preset: {
    provider: 'Linear',
    headers: ['Linear-Signature', 'Linear-Delivery'],
    signed: 'the raw body (which carries `webhookTimestamp`, Unix ms, checked against `tolerance`)',
    scheme: 'HMAC-SHA256, hex',
    tolerance: "`tolerance`, default 1m, on the body's `webhookTimestamp` (Linear's documented rule)",
    rotation: 'several `secrets`',
    docs: 'https://linear.app/developers/webhooks#securing-webhooks',
    example: 'type: linear\nsecrets: ["${LINEAR_WEBHOOK_SECRET}"]\ntolerance: 1m\nreplayWindow: 10m',
    notes:
      "Linear signs the body only; the timestamp it signs is the body's top-level `webhookTimestamp` (Unix milliseconds), read once the signature matched: a body without it, or with a non-number, is refused. The `Linear-Timestamp` header is not signed and not read. `Linear-Delivery` is not signed either; `replayWindow` remembers it and the signature, so a resend under a fresh delivery id is still refused. Linear sends one secret per webhook; list the old and the new while replacing it.",
  },
  create(config) {
    return {
      replay: config.replayWindow === undefined ? undefined : createReplayWindow(config.replayWindow),
      verify(request, now) {
        const header = headerValue(request.headers, 'linear-signature');
        if (!header) return fail('missing', 'no Linear-Signature header');
        if (!HEX_SHA256.test(header)) return fail('malformed', 'Linear-Signature is not 64 hex digits');
        const match = findMatch(
          [header.toLowerCase()],
          macs('sha256', config.secrets, [request.body], 'hex'),
        );
        if (match === undefined) return fail('mismatch', 'signature does not match');
        const at = webhookTimestamp(request.body);
        if (at === undefined) return fail('missing', 'the body has no webhookTimestamp');
        if (typeof at === 'string') return fail('malformed', at);
        if (!Number.isFinite(at) || Math.abs(now - at) > config.tolerance)
          return fail('expired', 'webhookTimestamp outside the tolerance');
        return passed(headerValue(request.headers, 'linear-delivery'), match);
      },
    };
  },
};
