/**
 * The `slack` verifier preset: `X-Slack-Signature: v0=<hex>` over `v0:<timestamp>:<body>`, with
 * the timestamp window Slack requires.
 */
import { z } from 'zod';
import { findMatch } from './compare.ts';
import { createReplayWindow } from './replay.ts';
import { checkTimestamp, macs, replayWindowField, secretsField, toleranceField } from './signing.ts';
import { fail, headerValue, passed, type VerifierPlugin } from './types.ts';

// https://api.slack.com/authentication/verifying-requests-from-slack
const SIGNATURE = /^v0=([0-9a-fA-F]{64})$/;

const schema = z
  .strictObject({
    type: z.literal('slack'),
    secrets: secretsField("The app's Signing Secret (Basic Information page).", ['${SLACK_SIGNING_SECRET}']),
    tolerance: toleranceField(),
    replayWindow: replayWindowField('the signature (Slack sends no message id)'),
  })
  .meta({
    title: 'slack',
    description:
      'Slack requests: `X-Slack-Signature: v0=<hex>`, HMAC-SHA256 of `v0:{X-Slack-Request-Timestamp}:{body}`, timestamp within `tolerance`.',
  });

export const slackVerifier: VerifierPlugin<typeof schema> = {
  type: 'slack',
  description: 'Slack request signature (X-Slack-Signature v0 with X-Slack-Request-Timestamp).',
  schema,
  preset: {
    provider: 'Slack',
    headers: ['X-Slack-Signature', 'X-Slack-Request-Timestamp'],
    signed: '`v0:{X-Slack-Request-Timestamp}:{body}`',
    scheme: 'HMAC-SHA256, hex, `v0=` prefix',
    tolerance: '`tolerance`, default 5m',
    rotation: 'several `secrets`',
    docs: 'https://api.slack.com/authentication/verifying-requests-from-slack',
    example: 'type: slack\nsecrets: ["${SLACK_SIGNING_SECRET}"]',
    handshake: 'type: slack',
    notes:
      "The key is the app's Signing Secret. Events API subscriptions first send a `url_verification` challenge: the `slack` handshake answers it (docs/routing.md#provider-handshakes).",
  },
  create(config) {
    return {
      replay: config.replayWindow === undefined ? undefined : createReplayWindow(config.replayWindow),
      verify(request, now) {
        const header = headerValue(request.headers, 'x-slack-signature');
        if (!header) return fail('missing', 'no X-Slack-Signature header');
        const timestamp = headerValue(request.headers, 'x-slack-request-timestamp');
        const refused = checkTimestamp(timestamp, 'X-Slack-Request-Timestamp', now, config.tolerance);
        if (refused) return refused;
        const given = SIGNATURE.exec(header)?.[1];
        if (!given) return fail('malformed', 'X-Slack-Signature is not v0=<64 hex digits>');
        const signed = [`v0:${timestamp}:`, request.body];
        const match = findMatch([given.toLowerCase()], macs('sha256', config.secrets, signed, 'hex'));
        if (match === undefined) return fail('mismatch', 'signature does not match');
        return passed(undefined, match);
      },
    };
  },
};
