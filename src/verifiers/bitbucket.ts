/**
 * The `bitbucket` verifier preset: Bitbucket Cloud (and Data Center) webhooks with a secret,
 * `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>`.
 */
import { z } from 'zod';
import { type BodySignature, bodySignatureVerifier } from './body-signature.ts';
import { replayWindowField, secretsField } from './signing.ts';
import type { VerifierPlugin } from './types.ts';

// https://support.atlassian.com/bitbucket-cloud/docs/manage-webhooks/#Secure-webhooks
// https://support.atlassian.com/bitbucket-cloud/docs/event-payloads/ (headers)

const SCHEME: BodySignature = {
  header: 'X-Hub-Signature',
  algorithm: 'sha256',
  encoding: 'hex',
  prefix: 'sha256=',
  idHeader: 'X-Request-UUID',
};

const schema = z
  .strictObject({
    type: z.literal('bitbucket'),
    secrets: secretsField("The webhook's secret, as entered in Bitbucket.", ['${BITBUCKET_WEBHOOK_SECRET}']),
    replayWindow: replayWindowField('`X-Request-UUID` (one per delivery) and the signature'),
  })
  .meta({
    title: 'bitbucket',
    description:
      'Bitbucket Cloud and Data Center webhooks: `X-Hub-Signature: sha256=<hex>`, HMAC-SHA256 of the raw body. Bitbucket signs no timestamp; use `replayWindow` against replays.',
  });

export const bitbucketVerifier: VerifierPlugin<typeof schema> = {
  type: 'bitbucket',
  description:
    'Bitbucket webhook signature (X-Hub-Signature: sha256=<hex>), optional replay window by X-Request-UUID.',
  schema,
  preset: {
    provider: 'Bitbucket',
    headers: ['X-Hub-Signature', 'X-Request-UUID'],
    signed: 'the raw body',
    scheme: 'HMAC-SHA256, hex, prefixed `sha256=`',
    tolerance: 'none (Bitbucket signs no timestamp): use `replayWindow`',
    rotation:
      "several `secrets`: list the new and the old secret, change the webhook's secret in Bitbucket, then remove the old one",
    docs: 'https://support.atlassian.com/bitbucket-cloud/docs/manage-webhooks/',
    example: 'type: bitbucket\nsecrets: ["${BITBUCKET_WEBHOOK_SECRET}"]\nreplayWindow: 10m',
    notes:
      "Bitbucket signs only when the webhook has a secret; without one it sends no `X-Hub-Signature` and every call is refused (`missing`). Unlike GitHub, Bitbucket's `X-Hub-Signature` is SHA-256 (`sha256=`); a GitHub-style `sha1=` value is refused as `malformed`. Bitbucket Data Center (Server) sends the same header with the same scheme, so this preset fits it too (its delivery id is `X-Request-Id`, which is not read: the signature is remembered). `X-Request-UUID` is one per delivery and is not signed; `X-Hook-UUID` names the webhook, the same for every delivery, and is not used.",
  },
  create: (config) => bodySignatureVerifier(SCHEME, config.secrets, config.replayWindow),
};
