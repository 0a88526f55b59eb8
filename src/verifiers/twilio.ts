/**
 * The `twilio` verifier preset: `X-Twilio-Signature`, base64 HMAC-SHA1 over the full URL and, for
 * form posts, the sorted parameters (or the `bodySHA256` query parameter for JSON).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { findMatch, safeEqual } from './compare.ts';
import { createReplayWindow } from './replay.ts';
import { macs, publicUrlField, replayWindowField, secretsField } from './signing.ts';
import { fail, headerValue, passed, type VerifierPlugin, type VerifyRequest } from './types.ts';

// https://www.twilio.com/docs/usage/webhooks/webhooks-security#validating-signatures-from-twilio
const BASE64_SHA1 = /^[A-Za-z0-9+/]{27}=$/;

const schema = z
  .strictObject({
    type: z.literal('twilio'),
    secrets: secretsField('Auth tokens of the Twilio account (primary, and secondary while rotating).', [
      '${TWILIO_AUTH_TOKEN}',
    ]),
    publicUrl: publicUrlField(
      'The scheme, host (and any path prefix) Twilio calls, in front of your proxy: Twilio signs the URL it requested, and hookrelay behind a proxy cannot see it. The path and query as received are appended.',
    ),
    replayWindow: replayWindowField('`I-Twilio-Idempotency-Token` and the signature'),
  })
  .meta({
    title: 'twilio',
    description:
      'Twilio webhooks: `X-Twilio-Signature`, base64 HMAC-SHA1 of the public URL followed by the POST form parameters sorted by name; JSON bodies are covered by the `bodySHA256` query parameter.',
  });

/**
 * The URLs Twilio may have signed for this request: the public base joined with the path and query
 * as received, with and without the port (Twilio's own libraries accept both), and the same after
 * WHATWG URL normalisation (which encodes characters such as `'`), as `twilio.validateRequest` does.
 */
export function signedUrls(publicUrl: string, received: string): string[] {
  const base = new URL(publicUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  const port = base.port || (base.protocol === 'https:' ? '443' : '80');
  const origins = [`${base.protocol}//${base.hostname}`, `${base.protocol}//${base.hostname}:${port}`];
  const paths = [prefix + received];
  try {
    // Concatenated, not resolved: a path such as `//other.host/x` stays a path.
    const normalised = new URL(`${base.origin}${prefix}${received}`);
    paths.push(normalised.pathname + normalised.search);
  } catch {
    // Not a URL at all: only the as-received form can match.
  }
  const urls = new Set<string>();
  for (const path of paths) for (const origin of origins) urls.add(origin + path);
  return [...urls];
}

/** POST form parameters, sorted by name, each name followed by its value (repeats: each value, sorted). */
function formData(body: Buffer): string {
  const grouped = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(body.toString('utf8'))) {
    const values = grouped.get(name);
    if (values) values.push(value);
    else grouped.set(name, [value]);
  }
  let data = '';
  for (const name of [...grouped.keys()].sort()) {
    for (const value of [...new Set(grouped.get(name))].sort()) data += name + value;
  }
  return data;
}

function isForm(request: VerifyRequest): boolean {
  const type = headerValue(request.headers, 'content-type') ?? '';
  return type.toLowerCase().startsWith('application/x-www-form-urlencoded');
}

export const twilioVerifier: VerifierPlugin<typeof schema> = {
  type: 'twilio',
  description: 'Twilio webhook signature (X-Twilio-Signature over the public URL and form parameters).',
  schema,
  preset: {
    provider: 'Twilio',
    headers: ['X-Twilio-Signature', 'I-Twilio-Idempotency-Token'],
    signed:
      'the full URL Twilio requested, then the POST form parameters sorted by name (each name, then its value); for JSON bodies the URL only, with `bodySHA256=<hex>` in its query, which is checked against the body',
    scheme: 'HMAC-SHA1, base64',
    tolerance: 'none (Twilio signs no timestamp): use `replayWindow`',
    rotation:
      'several `secrets`: list the primary and the secondary auth token, promote the secondary in the console, remove the old one',
    docs: 'https://www.twilio.com/docs/usage/webhooks/webhooks-security',
    example:
      'type: twilio\npublicUrl: https://hooks.example.com\nsecrets: ["${TWILIO_AUTH_TOKEN}"]\nreplayWindow: 1h',
    notes:
      "A body that is neither a form nor covered by `bodySHA256` is refused (`malformed`): the signature would not cover it. Behind a load balancer or proxy, hookrelay sees `http://10.0.0.5:8080/in/twilio`, not the URL Twilio called, so `publicUrl` says what that was: the scheme, host and any path prefix your proxy strips (`https://example.com/hookrelay`); the path and query hookrelay received are appended. Like Twilio's own libraries, the URL is tried with and without the default port (`:443`). `replayWindow` remembers `I-Twilio-Idempotency-Token` and the signature.",
  },
  create(config) {
    return {
      replay: config.replayWindow === undefined ? undefined : createReplayWindow(config.replayWindow),
      verify(request) {
        const header = headerValue(request.headers, 'x-twilio-signature');
        if (!header) return fail('missing', 'no X-Twilio-Signature header');
        if (!BASE64_SHA1.test(header)) return fail('malformed', 'X-Twilio-Signature is not a base64 SHA-1');
        const bodyHash = request.query.get('bodySHA256');
        let params = '';
        if (bodyHash !== null) {
          // JSON (and other non-form) bodies: the URL is signed, and it carries the body's hash.
          const actual = createHash('sha256').update(request.body).digest('hex');
          if (!safeEqual(bodyHash.toLowerCase(), actual))
            return fail('mismatch', 'body does not match bodySHA256');
        } else if (isForm(request)) params = formData(request.body);
        else if (request.body.length > 0)
          return fail('malformed', 'a body that is neither a form nor covered by bodySHA256 is not signed');
        const expected = signedUrls(config.publicUrl, request.url).flatMap((url) =>
          macs('sha1', config.secrets, [url, params], 'base64'),
        );
        const match = findMatch([header], expected);
        if (match === undefined) return fail('mismatch', 'signature does not match');
        return passed(headerValue(request.headers, 'i-twilio-idempotency-token'), match);
      },
    };
  },
};
