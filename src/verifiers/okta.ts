/**
 * The `okta` verifier preset: Okta event hooks and inline hooks authenticated by header, where the
 * admin chooses a header name ("Authentication field", `Authorization` by default here) and a
 * value ("Authentication secret") that Okta sends on every call, the one-time verification GET
 * included. The value is compared in constant time with each of `secrets`. It is a shared token,
 * not a signature: the body is not covered.
 */
import { z } from 'zod';
import { headerName } from '../core/fields.ts';
import { matchesAny } from './compare.ts';
import { secretsField } from './signing.ts';
import { fail, headerValue, pass, type VerifierPlugin } from './types.ts';

// https://developer.okta.com/docs/concepts/event-hooks/#one-time-verification-request
// https://developer.okta.com/docs/guides/event-hook-implementation/nodejs/main/

const schema = z
  .strictObject({
    type: z.literal('okta'),
    header: headerName.default('Authorization').meta({
      description: "The hook's Authentication field: the header Okta puts the secret in.",
      example: 'Authorization',
    }),
    secrets: secretsField(
      "The hook's Authentication secret, exactly as entered in Okta (the whole header value, including any `Bearer ` written there).",
      ['${OKTA_HOOK_SECRET}'],
    ),
  })
  .meta({
    title: 'okta',
    description:
      "Okta event hooks and inline hooks: the hook's Authentication secret sent as the value of its Authentication field header (default `Authorization`), compared in constant time. Pair with the `okta` handshake for the one-time verification.",
  });

export const oktaVerifier: VerifierPlugin<typeof schema> = {
  type: 'okta',
  description: "Okta hook authentication header (the hook's secret as a header value, constant-time).",
  schema,
  preset: {
    provider: 'Okta (event hooks, inline hooks)',
    headers: ['Authorization (or the configured Authentication field)'],
    signed: 'nothing: the header carries the shared secret itself',
    scheme: 'shared token in a header',
    tolerance: 'none: Okta sends no timestamp; no `replayWindow` (see notes)',
    rotation: 'several `secrets`: list the new value, change it in Okta, then drop the old one',
    docs: 'https://developer.okta.com/docs/concepts/event-hooks/',
    example: 'type: okta\nheader: Authorization\nsecrets: ["${OKTA_HOOK_SECRET}"]',
    handshake: 'type: okta',
    notes:
      "The secret is not a signature: it is the same on every call and does not cover the body, so anyone who sees one request can send any body. Use HTTPS end to end and a long random secret. The whole header value is compared, so a value entered in Okta as `Bearer abc` is listed as `Bearer abc`. Add `handshake: { type: okta }` for the event hook's one-time verification GET (`X-Okta-Verification-Challenge`): Okta sends the secret with it, and the handshake is answered only after this check passed. There is no `replayWindow`: keyed on the token it would refuse every second call, and the only per-message value (`eventId`) is in the unsigned body, where whoever could replay a call holds the token and can write a fresh one; deduplicate Okta's retries on `eventId` downstream instead. Inline hooks configured for OAuth 2.0 instead of a header are not covered by this preset.",
  },
  create(config) {
    return {
      verify(request) {
        const value = headerValue(request.headers, config.header);
        if (!value) return fail('missing', `no ${config.header} header`);
        return matchesAny(value, config.secrets)
          ? pass
          : fail('mismatch', `${config.header} is not a known hook secret`);
      },
    };
  },
};
