/**
 * The `github` verifier preset: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`.
 */
import { z } from 'zod';
import { type BodySignature, bodySignatureVerifier } from './body-signature.ts';
import { replayWindowField, secretsField } from './signing.ts';
import type { VerifierPlugin } from './types.ts';

// https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries

const SCHEME: BodySignature = {
  header: 'X-Hub-Signature-256',
  algorithm: 'sha256',
  encoding: 'hex',
  prefix: 'sha256=',
  idHeader: 'X-GitHub-Delivery',
};

const schema = z
  .strictObject({
    type: z.literal('github'),
    secrets: secretsField("The webhook's secret, as entered in GitHub.", ['${GITHUB_WEBHOOK_SECRET}']),
    replayWindow: replayWindowField('`X-GitHub-Delivery` and the signature'),
  })
  .meta({
    title: 'github',
    description:
      'GitHub webhooks: `X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 of the raw body. GitHub signs no timestamp; use `replayWindow` against replays.',
  });

export const githubVerifier: VerifierPlugin<typeof schema> = {
  type: 'github',
  description: 'GitHub webhook signature (X-Hub-Signature-256), optional replay window by X-GitHub-Delivery.',
  schema,
  preset: {
    provider: 'GitHub',
    headers: ['X-Hub-Signature-256', 'X-GitHub-Delivery'],
    signed: 'the raw body',
    scheme: 'HMAC-SHA256, hex, `sha256=` prefix',
    tolerance: 'none (GitHub signs no timestamp): use `replayWindow`',
    rotation: 'several `secrets`',
    docs: 'https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries',
    example: 'type: github\nsecrets: ["${GITHUB_WEBHOOK_SECRET}"]\nreplayWindow: 1h',
    notes:
      'The legacy SHA-1 `X-Hub-Signature` is not accepted. GitHub signs no timestamp, so a captured delivery stays valid forever: set `replayWindow`, which remembers `X-GitHub-Delivery` and the signature. A worked example is [config/examples/github-ci.yaml](../config/examples/github-ci.yaml).',
  },
  create: (config) => bodySignatureVerifier(SCHEME, config.secrets, config.replayWindow),
};
