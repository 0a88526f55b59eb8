/**
 * The `svix` verifier preset: senders that sign through Svix (Clerk, Resend and others). The
 * Standard Webhooks scheme under Svix's header names: `svix-signature: v1,<base64> [v1,…]` over
 * `{svix-id}.{svix-timestamp}.{body}`, HMAC-SHA256 keyed by the `whsec_` secret, timestamp within
 * a tolerance. The check itself is the `standard-webhooks` one.
 */
import { z } from 'zod';
import { createReplayWindow } from './replay.ts';
import { replayWindowField, secretsField, toleranceField } from './signing.ts';
import { checkWhsecSecrets, secretKey, verifyStandardWebhook } from './standard-webhooks.ts';
import type { VerifierPlugin } from './types.ts';

// https://docs.svix.com/receiving/verifying-payloads/how-manual
const HEADERS = { id: 'svix-id', timestamp: 'svix-timestamp', signature: 'svix-signature' };

const schema = z
  .strictObject({
    type: z.literal('svix'),
    secrets: secretsField(
      "The endpoint's signing secret as the sender's dashboard shows it, `whsec_<base64>` (the prefix is optional).",
      ['${SVIX_WEBHOOK_SECRET}'],
    ),
    tolerance: toleranceField(),
    replayWindow: replayWindowField('`svix-id` (which is signed)'),
  })
  .superRefine(checkWhsecSecrets)
  .meta({
    title: 'svix',
    description:
      'Senders signing through Svix (Clerk, Resend…): `svix-id`, `svix-timestamp`, `svix-signature: v1,<base64> [v1,<base64> …]`, HMAC-SHA256 of `{id}.{timestamp}.{body}` under the `whsec_` secret.',
  });

export const svixVerifier: VerifierPlugin<typeof schema> = {
  type: 'svix',
  description: 'Svix webhook signature (svix-id, svix-timestamp, svix-signature; whsec_ secrets).',
  schema,
  preset: {
    provider: 'Svix (Clerk, Resend…)',
    headers: ['svix-id', 'svix-timestamp', 'svix-signature'],
    signed: '`{svix-id}.{svix-timestamp}.{body}`',
    scheme: 'HMAC-SHA256, base64 (`v1,`), key from a `whsec_<base64>` secret',
    tolerance: '`tolerance`, default 5m',
    rotation:
      'several `secrets`; any of several space-separated `v1,` signatures (Svix signs with both keys while a secret is rolled)',
    docs: 'https://docs.svix.com/receiving/verifying-payloads/how-manual',
    example: 'type: svix\nsecrets: ["${SVIX_WEBHOOK_SECRET}"]\ntolerance: 5m\nreplayWindow: 10m',
    notes:
      "The Standard Webhooks scheme under `svix-` header names: a sender that sends `webhook-id`, `webhook-timestamp` and `webhook-signature` instead (Svix's unbranded mode) takes the `standard-webhooks` preset. The secret is base64 after the optional `whsec_` prefix; one that is not is a configuration error. `svix-id` is signed and the same on every retry of a message, so `replayWindow` by `svix-id` refuses a resend whatever else changes; a retry after a non-2xx answer still gets through. Asymmetric `v1a` signatures are not supported.",
  },
  create(config) {
    const keys = config.secrets.map((secret) => secretKey(secret)!);
    return {
      replay: config.replayWindow === undefined ? undefined : createReplayWindow(config.replayWindow),
      verify: (request, now) => verifyStandardWebhook(request, now, keys, config.tolerance, HEADERS),
    };
  },
};
