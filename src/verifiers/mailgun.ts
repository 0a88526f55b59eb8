/**
 * The `mailgun` verifier preset: the signature travels in the body, `signature: { timestamp,
 * token, signature }` (JSON webhooks) or the `timestamp`, `token`, `signature` form fields; hex
 * HMAC-SHA256 of `{timestamp}{token}` under the webhook signing key, within a tolerance.
 */
import { z } from 'zod';
import { isJsonObject, isNumber, numberText, parseJsonText } from '../core/json.ts';
import { findMatch } from './compare.ts';
import { createReplayWindow } from './replay.ts';
import {
  checkTimestamp,
  HEX_SHA256,
  macs,
  replayWindowField,
  secretsField,
  toleranceField,
} from './signing.ts';
import {
  fail,
  headerValue,
  passed,
  type VerifierPlugin,
  type VerifyRequest,
  type VerifyResult,
} from './types.ts';

// https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks

const schema = z
  .strictObject({
    type: z.literal('mailgun'),
    secrets: secretsField('The HTTP webhook signing key (Mailgun, Sending, Webhooks), not the API key.', [
      '${MAILGUN_WEBHOOK_SIGNING_KEY}',
    ]),
    tolerance: toleranceField(),
    replayWindow: replayWindowField('the `token` (Mailgun recommends caching tokens) and the signature'),
  })
  .meta({
    title: 'mailgun',
    description:
      "Mailgun webhooks: the body carries `signature.timestamp`, `signature.token` and `signature.signature` (JSON) or the `timestamp`, `token`, `signature` form fields; hex HMAC-SHA256 of `{timestamp}{token}`, `timestamp` within `tolerance`. The event data is not signed (Mailgun's scheme).",
  });

interface Fields {
  timestamp: string | undefined;
  token: string | undefined;
  signatures: string[];
}

const text = (value: unknown) =>
  typeof value === 'string' ? value : isNumber(value) ? numberText(value) : undefined;

/** The signature fields of the body, or a refusal when the body cannot be read. */
function signatureFields(request: VerifyRequest): Fields | VerifyResult {
  const type = (headerValue(request.headers, 'content-type') ?? '').toLowerCase();
  if (type.startsWith('application/x-www-form-urlencoded')) {
    const form = new URLSearchParams(request.body.toString('utf8'));
    const signature = form.get('signature');
    return {
      timestamp: form.get('timestamp') ?? undefined,
      token: form.get('token') ?? undefined,
      signatures: signature === null ? [] : [signature],
    };
  }
  let root: unknown;
  try {
    // The body is already within the route's `limits.body`; the depth is bounded before parsing.
    root = parseJsonText(request.body.toString('utf8'));
  } catch {
    return fail('malformed', 'the body is neither a form nor JSON within the depth limit');
  }
  if (!isJsonObject(root)) return fail('malformed', 'the body is not a JSON object');
  const block = root.signature;
  if (block === undefined) return { timestamp: undefined, token: undefined, signatures: [] };
  if (!isJsonObject(block)) return fail('malformed', 'signature is not an object');
  // `parent-signature`: the same over the primary account's key, sent for subaccount events.
  const signatures = [block.signature, block['parent-signature']].filter((s) => typeof s === 'string');
  return { timestamp: text(block.timestamp), token: text(block.token), signatures };
}

export const mailgunVerifier: VerifierPlugin<typeof schema> = {
  type: 'mailgun',
  description: 'Mailgun webhook signature (timestamp, token and signature in the body), timestamp tolerance.',
  schema,
  preset: {
    provider: 'Mailgun',
    headers: ['Content-Type'],
    signed:
      '`{timestamp}{token}` (no separator), both taken from the body: `signature.timestamp` and `signature.token` in JSON webhooks, the `timestamp` and `token` fields in form posts',
    scheme: 'HMAC-SHA256, hex, in the body (`signature.signature` or the `signature` field)',
    tolerance: "`tolerance`, default 5m, on the body's `timestamp`",
    rotation:
      "several `secrets`: list the new and the old signing key while rotating it in Mailgun, then remove the old one; for subaccount events `parent-signature` (the primary account's key) is accepted too",
    docs: 'https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks',
    example: 'type: mailgun\nsecrets: ["${MAILGUN_WEBHOOK_SIGNING_KEY}"]\nreplayWindow: 10m',
    notes:
      'The signature is in the body, not a header; `Content-Type` says whether the body is read as a form or as JSON. **Mailgun signs only the timestamp and the token, not the event**: `event-data` (or any other form field) can be changed by whoever holds one genuine request, and it still passes. What the signature proves is that Mailgun produced that timestamp and token recently; set `replayWindow` (at least `tolerance`) so each token is accepted once, as Mailgun recommends. JSON bodies (read within the default JSON depth, 64) and `application/x-www-form-urlencoded` forms are read; `multipart/form-data` posts (inbound routes with attachments) are not, and are refused as `malformed`. The key is the HTTP webhook signing key, not the API key.',
  },
  create(config) {
    return {
      replay: config.replayWindow === undefined ? undefined : createReplayWindow(config.replayWindow),
      verify(request, now) {
        const fields = signatureFields(request);
        if ('ok' in fields) return fields;
        const { timestamp, token, signatures } = fields;
        if (signatures.length === 0) return fail('missing', 'no signature in the body');
        if (!token) return fail('missing', 'no token in the body');
        if (!timestamp) return fail('missing', 'no timestamp in the body');
        if (!signatures.every((s) => HEX_SHA256.test(s)))
          return fail('malformed', 'signature is not 64 hex digits');
        const refused = checkTimestamp(timestamp, 'timestamp', now, config.tolerance);
        if (refused) return refused;
        const candidates = signatures.map((s) => s.toLowerCase());
        const match = findMatch(candidates, macs('sha256', config.secrets, [`${timestamp}${token}`], 'hex'));
        if (match === undefined) return fail('mismatch', 'signature does not match');
        return passed(token, match);
      },
    };
  },
};
