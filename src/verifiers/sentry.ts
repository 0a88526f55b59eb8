/**
 * The `sentry` verifier preset: Sentry integration platform webhooks, `Sentry-Hook-Signature:
 * <hex HMAC-SHA256 of the raw body>`, keyed by the integration's client secret.
 */
import { z } from 'zod';
import { type BodySignature, bodySignatureVerifier } from './body-signature.ts';
import { replayWindowField, secretsField } from './signing.ts';
import type { VerifierPlugin } from './types.ts';

// https://docs.sentry.io/integrations/integration-platform/webhooks/#sentry-hook-signature

const SCHEME: BodySignature = {
  header: 'Sentry-Hook-Signature',
  algorithm: 'sha256',
  encoding: 'hex',
  idHeader: 'Request-ID',
};

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
  create: (config) => bodySignatureVerifier(SCHEME, config.secrets, config.replayWindow),
};
