import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EXAMPLE_ED25519_KEY,
  EXAMPLE_P256_KEY,
  type Relay,
  startRelay,
  startTarget,
  type Target,
} from '../helpers.ts';
import { request, verifier } from './support.ts';

/**
 * Random headers, bodies and signatures thrown at every verifier kind: a verifier never throws and
 * never lets a forged request through, and through a relay nothing answers 5xx or is forwarded.
 */

const SW_SECRET = `whsec_${Buffer.from('property-key').toString('base64')}`;

/** Every kind, configured so that no request from the fuzzer can legitimately pass. */
const CONFIGS: Record<string, Record<string, unknown>> = {
  basic: { type: 'basic', users: [{ username: 'erp', password: 'prop-password-1' }] },
  apiKey: { type: 'apiKey', header: 'X-Api-Key', keys: ['prop-api-key-123'] },
  ipAllow: { type: 'ipAllow', cidrs: ['192.0.2.0/24'] },
  hmac: {
    type: 'hmac',
    header: 'X-Signature',
    prefix: 'sha256=',
    signed: '{timestamp}.{body}',
    timestampHeader: 'X-Timestamp',
    idHeader: 'X-Message-Id',
    replayWindow: '1m',
    secrets: ['prop-hmac-secret'],
  },
  github: { type: 'github', secrets: ['prop-github-secret'], replayWindow: '1m' },
  stripe: { type: 'stripe', secrets: ['whsec_prop_stripe'] },
  shopify: { type: 'shopify', secrets: ['prop-shopify-secret'] },
  slack: { type: 'slack', secrets: ['prop-slack-secret'] },
  twilio: { type: 'twilio', secrets: ['prop-twilio-token'], publicUrl: 'https://hooks.example.com' },
  'standard-webhooks': { type: 'standard-webhooks', secrets: [SW_SECRET], replayWindow: '1m' },
  square: {
    type: 'square',
    secrets: ['prop-square-key'],
    publicUrl: 'https://hooks.example.com',
    replayWindow: '1m',
  },
  zoom: { type: 'zoom', secrets: ['prop-zoom-token'], replayWindow: '1m' },
  mailgun: { type: 'mailgun', secrets: ['prop-mailgun-signing-key'], tolerance: '5m', replayWindow: '1m' },
  sendgrid: { type: 'sendgrid', publicKeys: [EXAMPLE_P256_KEY], replayWindow: '1m' },
  discord: { type: 'discord', publicKeys: [EXAMPLE_ED25519_KEY], replayWindow: '1m' },
  twitch: { type: 'twitch', secrets: ['prop-twitch-secret'], replayWindow: '1m' },
  hubspot: {
    type: 'hubspot',
    secrets: ['prop-hubspot-secret'],
    publicUrl: 'https://hooks.example.com',
    replayWindow: '1m',
  },
  paddle: { type: 'paddle', secrets: ['pdl_ntfset_prop'], replayWindow: '1m' },
  calendly: { type: 'calendly', secrets: ['prop-calendly-key'], replayWindow: '1m' },
  typeform: { type: 'typeform', secrets: ['prop-typeform-secret'], replayWindow: '1m' },
  linear: { type: 'linear', secrets: ['prop-linear-secret'], replayWindow: '1m' },
  intercom: { type: 'intercom', secrets: ['prop-intercom-secret'], replayWindow: '1m' },
  gitlab: { type: 'gitlab', secrets: ['prop-gitlab-token'], replayWindow: '1m' },
  bitbucket: { type: 'bitbucket', secrets: ['prop-bitbucket-secret'], replayWindow: '1m' },
  woocommerce: { type: 'woocommerce', secrets: ['prop-woocommerce-secret'], replayWindow: '1m' },
  xero: { type: 'xero', secrets: ['prop-xero-key'], replayWindow: '1m' },
  intuit: { type: 'intuit', secrets: ['prop-intuit-token'], replayWindow: '1m' },
  adyen: {
    type: 'adyen',
    secrets: ['44782def547aaa06c910c43932b1eb0c71fc68d9d0c057550c48ec2acf6ba056'],
    replayWindow: '1m',
  },
  svix: { type: 'svix', secrets: [SW_SECRET], replayWindow: '1m' },
  sentry: { type: 'sentry', secrets: ['prop-sentry-secret'], replayWindow: '1m' },
  vercel: { type: 'vercel', secrets: ['prop-vercel-secret'], replayWindow: '1m' },
  okta: { type: 'okta', secrets: ['prop-okta-hook-secret'] },
  docusign: { type: 'docusign', secrets: ['prop-docusign-key', 'prop-docusign-key-2'], replayWindow: '1m' },
};

const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 120,
});
const hex = (n: number) =>
  fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b).toString('hex'));
const b64 = (n: number) =>
  fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b).toString('base64'));
const seconds = () => String(Math.floor(Date.now() / 1000));

/** Values shaped like each scheme's signature (so the comparison runs), or plain noise. */
const signatureLike = fc.oneof(
  printable,
  hex(32).map((h) => `sha256=${h}`),
  hex(32).map((h) => `v0=${h}`),
  hex(32).map((h) => `t=${seconds()},v1=${h},v0=${h}`),
  b64(32).map((s) => `v1,${s} v1,${s}`),
  b64(32),
  b64(20),
  b64(70),
  hex(20),
  hex(64),
  hex(20).map((h) => `sha1=${h}`),
  b64(32).map((s) => `sha256=${s}`),
  hex(32).map((h) => `ts=${seconds()};h1=${h}`),
  hex(32).map((h) => `t=${seconds()},v1=${h}`),
  fc.string({ maxLength: 40 }).map((s) => `Basic ${Buffer.from(s).toString('base64')}`),
);

const HEADERS = [
  'authorization',
  'x-api-key',
  'x-signature',
  'x-hub-signature-256',
  'stripe-signature',
  'x-shopify-hmac-sha256',
  'x-slack-signature',
  'x-twilio-signature',
  'webhook-signature',
  'x-square-hmacsha256-signature',
  'x-zm-signature',
  'x-twilio-email-event-webhook-signature',
  'x-signature-ed25519',
  'twitch-eventsub-message-signature',
  'x-hubspot-signature-v3',
  'paddle-signature',
  'calendly-webhook-signature',
  'typeform-signature',
  'linear-signature',
  'x-hub-signature',
  'x-gitlab-token',
  'x-wc-webhook-signature',
  'x-xero-signature',
  'intuit-signature',
  'svix-signature',
  'sentry-hook-signature',
  'x-vercel-signature',
  'x-docusign-signature-1',
  'x-docusign-signature-2',
];
const ID_HEADERS = [
  'x-message-id',
  'x-github-delivery',
  'webhook-id',
  'x-forwarded-for',
  'content-type',
  'twitch-eventsub-message-id',
  'svix-id',
  'linear-delivery',
  'idempotency-key',
  'x-gitlab-event-uuid',
  'x-request-uuid',
  'request-id',
  'x-wc-webhook-delivery-id',
];
const TIME_HEADERS = [
  'x-timestamp',
  'x-slack-request-timestamp',
  'webhook-timestamp',
  'x-zm-request-timestamp',
  'x-twilio-email-event-webhook-timestamp',
  'x-signature-timestamp',
  'x-hubspot-request-timestamp',
  'twitch-eventsub-message-timestamp',
  'svix-timestamp',
  'sentry-hook-timestamp',
];

const headersArb = fc
  .tuple(
    fc.dictionary(fc.constantFrom(...HEADERS), signatureLike, { maxKeys: 4 }),
    fc.dictionary(fc.constantFrom(...ID_HEADERS), printable, { maxKeys: 3 }),
    fc.dictionary(fc.constantFrom(...TIME_HEADERS), fc.oneof(printable, fc.constant('now')), { maxKeys: 3 }),
    fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/), printable, { maxKeys: 3 }),
  )
  .map(([sig, ids, times, extra]) => {
    const out: Record<string, string> = { ...extra, ...ids, ...sig };
    for (const [name, value] of Object.entries(times)) out[name] = value === 'now' ? seconds() : value;
    return out;
  });
// JSON and form shapes reach the schemes that sign fields of the body (Adyen, Mailgun, Linear).
const bodyArb = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  printable.map((s) => Buffer.from(s)),
  fc
    .tuple(printable, hex(16), b64(32))
    .map(([ts, token, sig]) =>
      Buffer.from(JSON.stringify({ signature: { timestamp: ts, token, signature: sig } })),
    ),
  fc.tuple(printable, b64(32)).map(([ref, sig]) =>
    Buffer.from(
      JSON.stringify({
        notificationItems: [
          {
            NotificationRequestItem: {
              pspReference: ref,
              eventCode: 'AUTHORISATION',
              additionalData: { hmacSignature: sig },
            },
          },
        ],
      }),
    ),
  ),
  fc
    .tuple(printable, hex(16), hex(32))
    .map(([ts, token, sig]) =>
      Buffer.from(new URLSearchParams({ timestamp: ts, token, signature: sig }).toString()),
    ),
  fc
    .tuple(hex(32), fc.integer())
    .map(([id, at]) => Buffer.from(JSON.stringify({ webhookId: id, webhookTimestamp: at }))),
);
const pathArb = fc.oneof(
  fc.constant(''),
  printable.map((s) => `?${encodeURIComponent(s)}&bodySHA256=${s.length}`),
);
const addressArb = fc.ipV4().filter((a) => !a.startsWith('192.0.2.'));

describe('verifiers under random input', () => {
  for (const [kind, config] of Object.entries(CONFIGS)) {
    it(`${kind}: never throws, never passes a forged request`, async () => {
      const v = verifier(config);
      await fc.assert(
        fc.asyncProperty(headersArb, bodyArb, pathArb, addressArb, async (headers, body, query, address) => {
          const req = { ...request(body, headers, `/in${query}`), remoteAddress: address };
          const result = await v.verify(req, Date.now());
          expect(result.ok).toBe(false);
        }),
        { numRuns: 150 },
      );
    });
  }
});

describe('a relay under random input', () => {
  let target: Target;
  let relay: Relay;
  beforeAll(async () => {
    target = await startTarget();
    const routes = Object.entries(CONFIGS).map(
      ([kind, config]) => `
  - id: r-${kind}
    path: /v/${kind}
    verify: [${JSON.stringify(config)}]
    forward: { url: "${target.url}/hook" }`,
    );
    relay = await startRelay(`routes:${routes.join('')}\n`);
  });
  afterAll(async () => {
    await relay?.close();
    await target?.close();
  });

  it('answers 4xx, never 5xx, and forwards nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...Object.keys(CONFIGS)),
        headersArb,
        bodyArb,
        pathArb,
        async (kind, headers, body, query) => {
          const res = await fetch(`${relay.url}/v/${kind}${query}`, { method: 'POST', headers, body });
          await res.arrayBuffer();
          expect(res.status).toBeGreaterThanOrEqual(400);
          expect(res.status).toBeLessThan(500);
        },
      ),
      { numRuns: 200 },
    );
    expect(target.received).toHaveLength(0);
  });

  it('sanity: the same relay does forward a correctly signed request', async () => {
    const { Webhook } = await import('standardwebhooks');
    const at = new Date();
    const body = randomBytes(16).toString('hex');
    const res = await fetch(`${relay.url}/v/standard-webhooks`, {
      method: 'POST',
      headers: {
        'webhook-id': 'msg_sanity',
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': new Webhook(SW_SECRET).sign('msg_sanity', at, body),
      },
      body,
    });
    expect(res.status).toBe(200);
    expect(target.received).toHaveLength(1);
  });
});
