/**
 * The `docusign` verifier preset (DocuSign Connect HMAC): `X-DocuSign-Signature-1` …
 * `X-DocuSign-Signature-100`, one base64 HMAC-SHA256 of the raw body per key configured in
 * DocuSign. The call passes when any header matches any of the route's secrets.
 */
import { z } from 'zod';
import { configCode } from '../core/config-codes.ts';
import { findMatch } from './compare.ts';
import { createReplayWindow } from './replay.ts';
import { BASE64_SHA256, macs, replayWindowField, secretsField } from './signing.ts';
import { fail, passed, type VerifierPlugin, type VerifyRequest } from './types.ts';

// https://developers.docusign.com/platform/webhooks/connect/validate/
// https://developers.docusign.com/platform/webhooks/connect/hmac/
const SIGNATURE_HEADER = /^x-docusign-signature-([1-9][0-9]?|100)$/;
/** DocuSign sends one signature header per key, and an account has at most 100 keys. */
export const MAX_KEYS = 100;

/** The values of the X-DocuSign-Signature-1…100 headers present (each trimmed, repeats included). */
export function signatureHeaders(request: VerifyRequest): string[] {
  const values: string[] = [];
  for (const [name, raw] of Object.entries(request.headers)) {
    if (raw === undefined || !SIGNATURE_HEADER.test(name)) continue;
    for (const value of Array.isArray(raw) ? raw : [raw]) if (value.trim()) values.push(value.trim());
  }
  return values;
}

const schema = z
  .strictObject({
    type: z.literal('docusign'),
    secrets: secretsField(
      'Connect HMAC keys, as DocuSign shows them when they are added (Admin → Connect → Connect Keys).',
      ['${DOCUSIGN_CONNECT_HMAC_KEY}'],
    ),
    replayWindow: replayWindowField('the signature that matched (DocuSign sends no message id header)'),
  })
  .superRefine((config, ctx) => {
    if (config.secrets.length > MAX_KEYS)
      ctx.addIssue({
        code: 'custom',
        params: configCode('HOOKRELAY_CONFIG_INVALID_VALUE'),
        path: ['secrets'],
        message: `lists more than ${MAX_KEYS} keys (DocuSign signs with at most ${MAX_KEYS})`,
      });
  })
  .meta({
    title: 'docusign',
    description:
      "DocuSign Connect HMAC: `X-DocuSign-Signature-1` … `-100`, each a base64 HMAC-SHA256 of the raw body under one of the account's Connect keys; any header matching any of `secrets` passes. DocuSign signs no timestamp; use `replayWindow` against replays.",
  });

export const docusignVerifier: VerifierPlugin<typeof schema> = {
  type: 'docusign',
  description: 'DocuSign Connect HMAC signature (X-DocuSign-Signature-N), optional replay window.',
  schema,
  preset: {
    provider: 'DocuSign Connect',
    headers: ['X-DocuSign-Signature-1', 'X-DocuSign-Signature-2 … X-DocuSign-Signature-100'],
    signed: 'the raw body (the whole POST body, line endings included)',
    scheme: 'HMAC-SHA256, base64, one header per Connect key',
    tolerance: 'none (DocuSign signs no timestamp): use `replayWindow`',
    rotation:
      'DocuSign signs with every active key, one `X-DocuSign-Signature-N` header each; list the keys you accept in `secrets` (any header matching any secret passes): add the new key in DocuSign, then to `secrets`, then remove the old one from both',
    docs: 'https://developers.docusign.com/platform/webhooks/connect/validate/',
    example: 'type: docusign\nsecrets: ["${DOCUSIGN_CONNECT_HMAC_KEY}"]\nreplayWindow: 1h',
    notes:
      'HMAC must be enabled on the Connect configuration (*Include HMAC signature*). Header numbers are not tied to positions in `secrets`: any header may match any secret. The body is signed as sent, JSON or XML. The key is used as DocuSign shows it (its UTF-8 text, not base64-decoded). Headers beyond `-100`, and values that are not a base64 SHA-256, are ignored; a call with signature headers but none well formed is refused as `malformed`. The `X-Authorization-Digest` header (`HMACSHA256`) is not read. Not signed: every other header, and the Connect basic-authentication header if you also use it (add a `basic` check for that).',
  },
  create(config) {
    return {
      replay: config.replayWindow === undefined ? undefined : createReplayWindow(config.replayWindow),
      verify(request) {
        const present = signatureHeaders(request);
        if (present.length === 0) return fail('missing', 'no X-DocuSign-Signature-N header');
        const candidates = present.filter((value) => BASE64_SHA256.test(value)).slice(0, MAX_KEYS);
        if (candidates.length === 0)
          return fail('malformed', 'no X-DocuSign-Signature-N header is a base64 SHA-256');
        const match = findMatch(candidates, macs('sha256', config.secrets, [request.body], 'base64'));
        if (match === undefined) return fail('mismatch', 'no signature header matches');
        return passed(undefined, match);
      },
    };
  },
};
