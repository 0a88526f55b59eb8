/**
 * The `zoom` verifier preset: `x-zm-signature: v0=<hex>`, HMAC-SHA256 under the app's Secret Token
 * of `v0:{x-zm-request-timestamp}:{raw body}`, the timestamp within a tolerance. Zoom's endpoint
 * URL validation is the `zoom` handshake, answered after this check.
 */
import { z } from 'zod';
import { findMatch } from './compare.ts';
import { createReplayWindow } from './replay.ts';
import { checkTimestamp, macs, replayWindowField, secretsField, toleranceField } from './signing.ts';
import { fail, headerValue, passed, type VerifierPlugin } from './types.ts';

// https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events
const DOCS = 'https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events';
const SIGNATURE = /^v0=([0-9a-fA-F]{64})$/;

const schema = z
  .strictObject({
    type: z.literal('zoom'),
    secrets: secretsField("The app's Secret Token (Features → Access).", ['${ZOOM_SECRET_TOKEN}']),
    tolerance: toleranceField(),
    replayWindow: replayWindowField('the signature (Zoom sends no message id header)'),
  })
  .meta({
    title: 'zoom',
    description:
      'Zoom webhooks: `x-zm-signature: v0=<hex>`, HMAC-SHA256 of `v0:{x-zm-request-timestamp}:{body}`, the timestamp within `tolerance`.',
  });

export const zoomVerifier: VerifierPlugin<typeof schema> = {
  type: 'zoom',
  description: 'Zoom webhook signature (x-zm-signature v0 with x-zm-request-timestamp).',
  schema,
  preset: {
    provider: 'Zoom',
    headers: ['x-zm-signature', 'x-zm-request-timestamp'],
    signed: '`v0:{x-zm-request-timestamp}:{raw body}`',
    scheme: 'HMAC-SHA256, hex, `v0=` prefix',
    tolerance: '`tolerance`, default 5m',
    rotation:
      'Zoom sends one signature; while regenerating the Secret Token, list the new and the old one (and set the handshake’s `secretToken` to the new one).',
    docs: DOCS,
    example: 'type: zoom\nsecrets: ["${ZOOM_SECRET_TOKEN}"]',
    handshake: 'type: zoom\nsecretToken: "${ZOOM_SECRET_TOKEN}"',
    notes:
      'Zoom validates the endpoint URL with a signed `endpoint.url_validation` event: add the `zoom` handshake, answered after `verify`.',
  },
  create(config) {
    return {
      replay: config.replayWindow === undefined ? undefined : createReplayWindow(config.replayWindow),
      verify(request, now) {
        const header = headerValue(request.headers, 'x-zm-signature');
        if (!header) return fail('missing', 'no x-zm-signature header');
        const timestamp = headerValue(request.headers, 'x-zm-request-timestamp');
        const refused = checkTimestamp(timestamp, 'x-zm-request-timestamp', now, config.tolerance);
        if (refused) return refused;
        const given = SIGNATURE.exec(header)?.[1];
        if (!given) return fail('malformed', 'x-zm-signature is not v0=<64 hex digits>');
        const expected = macs('sha256', config.secrets, [`v0:${timestamp}:`, request.body], 'hex');
        const match = findMatch([given.toLowerCase()], expected);
        if (match === undefined) return fail('mismatch', 'signature does not match');
        return passed(undefined, match);
      },
    };
  },
};
