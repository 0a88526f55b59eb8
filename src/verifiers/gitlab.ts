/**
 * The `gitlab` verifier preset: `X-Gitlab-Token` carries the webhook's secret token itself,
 * compared in constant time with each of `secrets`. It is a shared token, not a signature: the
 * body is not covered. The replay window names a delivery by `Idempotency-Key` (the same on every
 * retry of a delivery) or, from GitLab versions without it, `X-Gitlab-Event-UUID`.
 */
import { z } from 'zod';
import { matchesAny } from './compare.ts';
import { createReplayWindow } from './replay.ts';
import { replayWindowField, secretsField } from './signing.ts';
import { fail, headerValue, type VerifierPlugin } from './types.ts';

// https://docs.gitlab.com/user/project/integrations/webhooks/#validate-payloads-by-using-a-secret-token

const schema = z
  .strictObject({
    type: z.literal('gitlab'),
    secrets: secretsField("The webhook's Secret token, as entered in GitLab.", ['${GITLAB_WEBHOOK_TOKEN}']),
    replayWindow: replayWindowField(
      '`Idempotency-Key` (or `X-Gitlab-Event-UUID` where GitLab sends no `Idempotency-Key`); neither is signed',
    ),
  })
  .meta({
    title: 'gitlab',
    description:
      'GitLab webhooks: `X-Gitlab-Token` equals the secret token (constant-time; the body is not signed). `replayWindow` remembers `Idempotency-Key` / `X-Gitlab-Event-UUID`.',
  });

export const gitlabVerifier: VerifierPlugin<typeof schema> = {
  type: 'gitlab',
  description: 'GitLab webhook secret token (X-Gitlab-Token), optional replay window by Idempotency-Key.',
  schema,
  preset: {
    provider: 'GitLab',
    headers: ['X-Gitlab-Token', 'Idempotency-Key', 'X-Gitlab-Event-UUID'],
    signed: 'nothing: `X-Gitlab-Token` is the secret token itself',
    scheme: 'shared token in a header',
    tolerance: 'none: use `replayWindow`',
    rotation: 'several `secrets`: list the new token, change it in GitLab, then drop the old one',
    docs: 'https://docs.gitlab.com/user/project/integrations/webhooks/#validate-payloads-by-using-a-secret-token',
    example: 'type: gitlab\nsecrets: ["${GITLAB_WEBHOOK_TOKEN}"]\nreplayWindow: 10m',
    notes:
      "The token is not a signature: GitLab sends it as is on every delivery and it does not cover the body, so anyone who sees one request can send any body. Use HTTPS end to end (and keep GitLab's SSL verification on) and a long random token. `replayWindow` remembers `Idempotency-Key` (the same on every retry of a delivery) or, where it is absent, `X-Gitlab-Event-UUID`; neither is signed, so the window stops a captured delivery resent as is, not a forger holding the token. A delivery without either header is not remembered. GitLab is adding an optional signing token (merge request gitlab-org/gitlab!230944, behind the `webhook_signing_token` feature flag): HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` in `webhook-signature: v1,<base64>`, the Standard Webhooks scheme, with `webhook-id` equal to `Idempotency-Key`. Where your instance sends `webhook-signature`, add a `standard-webhooks` check after this one.",
  },
  create(config) {
    return {
      replay: config.replayWindow === undefined ? undefined : createReplayWindow(config.replayWindow),
      verify(request) {
        const token = headerValue(request.headers, 'x-gitlab-token');
        if (!token) return fail('missing', 'no X-Gitlab-Token header');
        if (!matchesAny(token, config.secrets))
          return fail('mismatch', 'X-Gitlab-Token is not a known token');
        // Named by its delivery id only: the token is the same on every call (and a secret).
        const messageId =
          headerValue(request.headers, 'idempotency-key') ??
          headerValue(request.headers, 'x-gitlab-event-uuid');
        return { ok: true, messageId };
      },
    };
  },
};
