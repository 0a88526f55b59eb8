/**
 * The `twitch` verifier preset (EventSub webhooks): `Twitch-Eventsub-Message-Signature:
 * sha256=<hex>`, HMAC-SHA256 of message id + timestamp (RFC 3339) + raw body, the timestamp at
 * most 10 minutes off (Twitch's rule) and the message id remembered by `replayWindow`.
 */
import { z } from 'zod';
import { configCode } from '../core/config-codes.ts';
import { duration } from '../core/fields.ts';
import { findMatch } from './compare.ts';
import { createReplayWindow } from './replay.ts';
import { checkTimestamp, macs, replayWindowField, secretsField } from './signing.ts';
import { fail, headerValue, passed, type VerifierPlugin } from './types.ts';

// https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#verifying-the-event-message
const DOCS = 'https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#verifying-the-event-message';
const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;
// RFC 3339 date-time; Twitch sends nanoseconds (`2023-07-19T10:11:12.123456789Z`).
const RFC3339 = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

/** An RFC 3339 timestamp → ms (the fraction cut to milliseconds); undefined for anything else. */
export function rfc3339(value: string): number | undefined {
  const m = RFC3339.exec(value);
  if (!m) return undefined;
  const fraction = (m[3] ?? '').padEnd(3, '0').slice(0, 3);
  const zone = m[4]!.toUpperCase();
  const at = Date.parse(`${m[1]}T${m[2]}.${fraction}${zone}`);
  return Number.isNaN(at) ? undefined : at;
}

const schema = z
  .strictObject({
    type: z.literal('twitch'),
    secrets: secretsField(
      'The `secret` given when creating the EventSub subscription (10 to 100 ASCII characters).',
      ['${TWITCH_EVENTSUB_SECRET}'],
    ),
    tolerance: duration(
      'How far `Twitch-Eventsub-Message-Timestamp` may be from now, either way. Twitch: refuse messages older than 10 minutes.',
      '10m',
    ).default(600_000),
    replayWindow: replayWindowField(
      '`Twitch-Eventsub-Message-Id` (which is signed; a resent message keeps its id)',
    ),
  })
  .superRefine((config, ctx) => {
    config.secrets.forEach((secret, index) => {
      // Never quote the value: it is a secret.
      if (!/^[\x20-\x7e]{10,100}$/.test(secret))
        ctx.addIssue({
          code: 'custom',
          params: configCode('HOOKRELAY_CONFIG_INVALID_VALUE'),
          path: ['secrets', index],
          message: 'is not a Twitch EventSub secret (10 to 100 printable ASCII characters)',
        });
    });
  })
  .meta({
    title: 'twitch',
    description:
      'Twitch EventSub webhooks: `Twitch-Eventsub-Message-Signature: sha256=<hex>`, HMAC-SHA256 of `{Twitch-Eventsub-Message-Id}{Twitch-Eventsub-Message-Timestamp}{body}`, the timestamp within `tolerance` (default 10m).',
  });

export const twitchVerifier: VerifierPlugin<typeof schema> = {
  type: 'twitch',
  description: 'Twitch EventSub signature (Twitch-Eventsub-Message-Signature over id, timestamp and body).',
  schema,
  preset: {
    provider: 'Twitch EventSub',
    headers: [
      'Twitch-Eventsub-Message-Signature',
      'Twitch-Eventsub-Message-Id',
      'Twitch-Eventsub-Message-Timestamp',
    ],
    signed: '`{Twitch-Eventsub-Message-Id}{Twitch-Eventsub-Message-Timestamp}{raw body}` (no separators)',
    scheme: 'HMAC-SHA256, hex, `sha256=` prefix',
    tolerance: '`tolerance`, default 10m (Twitch: refuse messages older than 10 minutes)',
    rotation:
      'One secret per subscription: list the new and the old one while subscriptions are recreated with the new secret.',
    docs: DOCS,
    example: 'type: twitch\nsecrets: ["${TWITCH_EVENTSUB_SECRET}"]\nreplayWindow: 10m',
    handshake: 'type: twitch',
    notes:
      'Twitch resends a message with the same `Twitch-Eventsub-Message-Id`: with `replayWindow` a message already answered 2xx is refused as `replayed`. Add `handshake: { type: twitch }` to answer `webhook_callback_verification` (after `verify`).',
  },
  create(config) {
    return {
      replay: config.replayWindow === undefined ? undefined : createReplayWindow(config.replayWindow),
      verify(request, now) {
        const { headers } = request;
        const header = headerValue(headers, 'twitch-eventsub-message-signature');
        if (!header) return fail('missing', 'no Twitch-Eventsub-Message-Signature header');
        const id = headerValue(headers, 'twitch-eventsub-message-id');
        if (!id) return fail('missing', 'no Twitch-Eventsub-Message-Id header');
        const timestamp = headerValue(headers, 'twitch-eventsub-message-timestamp');
        const refused = checkTimestamp(
          timestamp,
          'Twitch-Eventsub-Message-Timestamp',
          now,
          config.tolerance,
          rfc3339,
          'an RFC 3339 date-time',
        );
        if (refused) return refused;
        const given = SIGNATURE.exec(header)?.[1];
        if (!given)
          return fail('malformed', 'Twitch-Eventsub-Message-Signature is not sha256=<64 hex digits>');
        const expected = macs('sha256', config.secrets, [id, timestamp!, request.body], 'hex');
        const match = findMatch([given.toLowerCase()], expected);
        if (match === undefined) return fail('mismatch', 'signature does not match');
        return passed(id, match);
      },
    };
  },
};
