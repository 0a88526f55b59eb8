/**
 * The `github` verifier preset: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`.
 */
import { z } from 'zod';
import { findMatch } from './compare.ts';
import { createReplayWindow } from './replay.ts';
import { macs, replayWindowField, secretsField } from './signing.ts';
import { fail, headerValue, passed, type VerifierPlugin } from './types.ts';

// https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;

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
  create(config) {
    return {
      replay: config.replayWindow === undefined ? undefined : createReplayWindow(config.replayWindow),
      verify(request) {
        const header = headerValue(request.headers, 'x-hub-signature-256');
        if (!header) return fail('missing', 'no X-Hub-Signature-256 header');
        const given = SIGNATURE.exec(header)?.[1];
        if (!given) return fail('malformed', 'X-Hub-Signature-256 is not sha256=<64 hex digits>');
        const match = findMatch([given.toLowerCase()], macs('sha256', config.secrets, [request.body], 'hex'));
        if (match === undefined) return fail('mismatch', 'signature does not match');
        return passed(headerValue(request.headers, 'x-github-delivery'), match);
      },
    };
  },
};
