/**
 * The `sendgrid` verifier preset: the signed Event Webhook. SendGrid signs `{timestamp}{body}`
 * with ECDSA P-256 / SHA-256 and sends the DER signature in base64
 * (`X-Twilio-Email-Event-Webhook-Signature`) with the Unix timestamp
 * (`X-Twilio-Email-Event-Webhook-Timestamp`); the receiver holds the verification key.
 */
import { z } from 'zod';
import { duration } from '../core/fields.ts';
import { publicKeys, publicKeysField, verifiedMessageKey } from './public-key.ts';
import { createReplayWindow } from './replay.ts';
import { checkTimestamp, replayWindowField } from './signing.ts';
import { fail, headerValue, passed, type VerifierPlugin } from './types.ts';

// https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features
const SIGNATURE_HEADER = 'X-Twilio-Email-Event-Webhook-Signature';
const TIMESTAMP_HEADER = 'X-Twilio-Email-Event-Webhook-Timestamp';
// A DER ECDSA P-256 signature is at most 72 bytes: 96 base64 characters.
const BASE64_DER = /^[A-Za-z0-9+/]{8,96}={0,2}$/;

const schema = z
  .strictObject({
    type: z.literal('sendgrid'),
    publicKeys: publicKeysField(
      'p256',
      'The Event Webhook verification key, base64 DER as SendGrid shows it (Settings → Mail Settings → Event Webhook → Signature Verification), or PEM.',
      [
        'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==',
      ],
    ),
    tolerance: duration(
      'How far the signed timestamp may be from now, either way (replay protection). SendGrid documents no limit; SendGrid retries a failed post with a fresh timestamp.',
      '5m',
    ).default(300_000),
    replayWindow: replayWindowField('the signed timestamp and body (SendGrid sends no message id header)'),
  })
  .meta({
    title: 'sendgrid',
    description:
      'SendGrid signed Event Webhook: `X-Twilio-Email-Event-Webhook-Signature` (base64 DER ECDSA P-256 / SHA-256) over `{timestamp}{body}`, `X-Twilio-Email-Event-Webhook-Timestamp` within `tolerance`.',
  });

export const sendgridVerifier: VerifierPlugin<typeof schema> = {
  type: 'sendgrid',
  description: 'SendGrid signed Event Webhook (ECDSA P-256 over timestamp and body, timestamp tolerance).',
  schema,
  preset: {
    provider: 'SendGrid (Event Webhook)',
    headers: [SIGNATURE_HEADER, TIMESTAMP_HEADER],
    signed:
      '`{timestamp}{body}`: the timestamp header value immediately followed by the raw body, no separator',
    scheme: 'ECDSA P-256 / SHA-256, DER signature in base64',
    tolerance: '`tolerance`, default 5m (SendGrid documents none)',
    rotation:
      'several `publicKeys` (each webhook has its own key; turning signing off and on again makes a new one)',
    docs: 'https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features',
    example:
      'type: sendgrid\npublicKeys: ["${SENDGRID_WEBHOOK_PUBLIC_KEY}"]\ntolerance: 5m\nreplayWindow: 10m',
    notes:
      "The key is public: it verifies, it cannot sign, and it is listed as is (base64 DER as the console shows it, or PEM). SendGrid signs the exact bytes it posts, including the `\\r\\n` after each event: nothing in front of hookrelay may re-encode the body. SendGrid documents no timestamp limit; the 5-minute `tolerance` is hookrelay's. There is no message id header: `replayWindow` remembers the signed timestamp and body under the key that verified them (not the signature, which ECDSA lets a replayer re-randomise), so a byte-identical resend is refused.",
  },
  create(config) {
    const keys = publicKeys(config.publicKeys, 'p256');
    return {
      replay: config.replayWindow === undefined ? undefined : createReplayWindow(config.replayWindow),
      verify(request, now) {
        const signature = headerValue(request.headers, SIGNATURE_HEADER);
        if (!signature) return fail('missing', `no ${SIGNATURE_HEADER} header`);
        const timestamp = headerValue(request.headers, TIMESTAMP_HEADER);
        const refused = checkTimestamp(timestamp, TIMESTAMP_HEADER, now, config.tolerance);
        if (refused) return refused;
        if (!BASE64_DER.test(signature))
          return fail('malformed', `${SIGNATURE_HEADER} is not a base64 signature`);
        const signed = Buffer.concat([Buffer.from(timestamp!), request.body]);
        const der = Buffer.from(signature, 'base64');
        const matched = verifiedMessageKey(keys, 'p256', signed, der);
        if (matched === undefined) return fail('mismatch', 'signature does not verify under any public key');
        return passed(undefined, matched);
      },
    };
  },
};
