/**
 * The `sentry` verifier preset: Sentry integration platform webhooks, `Sentry-Hook-Signature:
 * <hex HMAC-SHA256 of the raw body>`, keyed by the integration's client secret.
 */
import { z } from 'zod';
import { findMatch } from './compare.ts';
import { createReplayWindow } from './replay.ts';
import { macs, replayWindowField, secretsField } from './signing.ts';
import { fail, headerValue, passed, type VerifierPlugin } from './types.ts';

// https://docs.sentry.io/integrations/integration-platform/webhooks/#sentry-hook-signature
const SIGNATURE = /^[0-9a-fA-F]{64}$/;

const schema = z
  .strictObject({
    type: z.literal('sentry'),
    secrets: secretsField(
      "The integration's Client Secret (Settings, Developer Settings, the integration).",
      ['${SENTRY_CLIENT_SECRET}'],
    ),
    replayWindow: replayWindowField('`Request-ID` and the signature'),
  })
  .meta({
    title: 'sentry',
    description:
      "Sentry integration platform webhooks: `Sentry-Hook-Signature: <hex>`, HMAC-SHA256 of the raw body keyed by the integration's client secret. `Sentry-Hook-Timestamp` is not signed, so no tolerance is checked; use `replayWindow` against replays.",
  });

export const sentryVerifier: VerifierPlugin<typeof schema> = {
  type: 'sentry',
  description:
    'Sentry integration webhook signature (Sentry-Hook-Signature), optional replay window by Request-ID.',
  schema,
  preset: {
    provider: 'Sentry',
    headers: ['Sentry-Hook-Signature', 'Request-ID'],
    signed: 'the raw body',
    scheme: 'HMAC-SHA256, hex',
    tolerance: 'none (`Sentry-Hook-Timestamp` is not signed): use `replayWindow`',
    rotation:
      'several `secrets`: list the new and the old client secret while rotating it in Sentry, then remove the old one',
    docs: 'https://docs.sentry.io/integrations/integration-platform/webhooks/',
    example: 'type: sentry\nsecrets: ["${SENTRY_CLIENT_SECRET}"]\nreplayWindow: 10m',
    notes:
      "Sentry signs the body only. `Sentry-Hook-Timestamp` is sent but not covered by the signature, so checking it would prove nothing (anyone can change it): no tolerance is offered. `Request-ID` is not signed either; `replayWindow` remembers it and the signature, so a byte-identical resend under a fresh id is still refused. The key is the integration's Client Secret (internal or public integration), not an auth token.",
  },
  create(config) {
    return {
      replay: config.replayWindow === undefined ? undefined : createReplayWindow(config.replayWindow),
      verify(request) {
        const header = headerValue(request.headers, 'sentry-hook-signature');
        if (!header) return fail('missing', 'no Sentry-Hook-Signature header');
        if (!SIGNATURE.test(header)) return fail('malformed', 'Sentry-Hook-Signature is not 64 hex digits');
        const match = findMatch(
          [header.toLowerCase()],
          macs('sha256', config.secrets, [request.body], 'hex'),
        );
        if (match === undefined) return fail('mismatch', 'signature does not match');
        return passed(headerValue(request.headers, 'request-id'), match);
      },
    };
  },
};
