/**
 * The `hubspot` verifier preset: `X-HubSpot-Signature-v3`, base64 HMAC-SHA256 under the app's
 * client secret of method + URI + raw body + `X-HubSpot-Request-Timestamp` (Unix ms), where the URI
 * is the public URL HubSpot called with certain percent-encoded characters decoded.
 */
import { z } from 'zod';
import { findMatch } from './compare.ts';
import { createReplayWindow } from './replay.ts';
import {
  BASE64_SHA256,
  checkTimestamp,
  macs,
  publicUrlField,
  replayWindowField,
  secretsField,
  toleranceField,
  unixMillis,
} from './signing.ts';
import { signedUrls } from './twilio.ts';
import { fail, headerValue, passed, type VerifierPlugin } from './types.ts';

// https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/request-validation
const DOCS =
  'https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/request-validation';

/** The characters HubSpot decodes in the URI before signing (its document's table), and no others. */
const DECODED: Record<string, string> = {
  '%3A': ':',
  '%2F': '/',
  '%3F': '?',
  '%40': '@',
  '%21': '!',
  '%24': '$',
  '%27': "'",
  '%28': '(',
  '%29': ')',
  '%2A': '*',
  '%2C': ',',
  '%3B': ';',
};
const UPPER = /%(?:3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/g;
const ANY_CASE = new RegExp(UPPER.source, 'gi');

/**
 * The URI HubSpot signs for `url`: the table's escapes decoded (as written in the table, upper
 * case; the lower-case spelling of the same escapes is tried as well). Other escapes stay as sent.
 */
export function hubspotUris(url: string): string[] {
  const decode = (pattern: RegExp) => url.replace(pattern, (encoded) => DECODED[encoded.toUpperCase()]!);
  return [...new Set([decode(UPPER), decode(ANY_CASE)])];
}

/** Unix milliseconds written as a plain integer; undefined for anything else. */
const schema = z
  .strictObject({
    type: z.literal('hubspot'),
    secrets: secretsField("The app's client secret (app settings → Auth).", ['${HUBSPOT_CLIENT_SECRET}']),
    publicUrl: publicUrlField(
      'The scheme, host (and any path prefix) HubSpot calls, in front of your proxy: HubSpot signs the full URL it requested, and hookrelay behind a proxy cannot see it. The path and query as received are appended.',
    ),
    tolerance: toleranceField(),
    replayWindow: replayWindowField('the signature (HubSpot sends no message id header)'),
  })
  .meta({
    title: 'hubspot',
    description:
      'HubSpot requests, signature v3: `X-HubSpot-Signature-v3`, base64 HMAC-SHA256 of `{method}{URI}{body}{X-HubSpot-Request-Timestamp}`, the URI being `publicUrl` + path and query with the escapes HubSpot lists decoded; the timestamp (Unix ms) within `tolerance`.',
  });

export const hubspotVerifier: VerifierPlugin<typeof schema> = {
  type: 'hubspot',
  description: 'HubSpot request signature v3 (X-HubSpot-Signature-v3 with X-HubSpot-Request-Timestamp).',
  schema,
  preset: {
    provider: 'HubSpot',
    headers: ['X-HubSpot-Signature-v3', 'X-HubSpot-Request-Timestamp'],
    signed:
      '`{method}{URI}{raw body}{X-HubSpot-Request-Timestamp}`, the URI being `publicUrl` + path and query as received, with `%3A %2F %3F %40 %21 %24 %27 %28 %29 %2A %2C %3B` decoded',
    scheme: 'HMAC-SHA256, base64',
    tolerance: '`tolerance`, default 5m (the timestamp is Unix milliseconds)',
    rotation: 'HubSpot sends one signature; while rotating the client secret, list the new and the old one.',
    docs: DOCS,
    example: 'type: hubspot\nsecrets: ["${HUBSPOT_CLIENT_SECRET}"]\npublicUrl: https://hooks.example.com',
    notes:
      'Only signature v3 is checked: the older `X-HubSpot-Signature` (v1, v2) signs no timestamp and is ignored. The URL must be the one HubSpot called exactly (scheme, host, path, query in the order sent).',
  },
  create(config) {
    return {
      replay: config.replayWindow === undefined ? undefined : createReplayWindow(config.replayWindow),
      verify(request, now) {
        const header = headerValue(request.headers, 'x-hubspot-signature-v3');
        if (!header) return fail('missing', 'no X-HubSpot-Signature-v3 header');
        const timestamp = headerValue(request.headers, 'x-hubspot-request-timestamp');
        const refused = checkTimestamp(
          timestamp,
          'X-HubSpot-Request-Timestamp',
          now,
          config.tolerance,
          unixMillis,
          'a Unix timestamp in milliseconds',
        );
        if (refused) return refused;
        if (!BASE64_SHA256.test(header))
          return fail('malformed', 'X-HubSpot-Signature-v3 is not a base64 SHA-256');
        const uris = signedUrls(config.publicUrl, request.url).flatMap(hubspotUris);
        const expected = [...new Set(uris)].flatMap((uri) =>
          macs('sha256', config.secrets, [request.method, uri, request.body, timestamp!], 'base64'),
        );
        const match = findMatch([header], expected);
        if (match === undefined) return fail('mismatch', 'signature does not match');
        return passed(undefined, match);
      },
    };
  },
};
