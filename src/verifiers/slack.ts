/**
 * The `slack` verifier preset: `X-Slack-Signature: v0=<hex>` over `v0:<timestamp>:<body>`, with
 * the timestamp window Slack requires.
 */
import { z } from 'zod';
import type { Plugin } from '../core/registry.ts';
import { findMatch } from './compare.ts';
import { createReplayWindow } from './replay.ts';
import { checkTimestamp, macs, replayWindowField, secretsField, toleranceField } from './signing.ts';
import { fail, headerValue, passed, type Verifier } from './types.ts';

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

export const slackVerifier: Plugin<typeof schema, Verifier> = {
  type: 'slack',
  description: 'Slack request signature (X-Slack-Signature v0 with X-Slack-Request-Timestamp).',
  schema,
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
