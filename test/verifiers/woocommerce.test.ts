import { createHmac } from 'node:crypto';
import { load } from 'js-yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { verifierSchema } from '../../src/verifiers/index.ts';
import { woocommerceVerifier } from '../../src/verifiers/woocommerce.ts';
import { type Relay, startRelay, startTarget, type Target } from '../helpers.ts';
import { presetSuite, type Signer } from './preset-suite.ts';
import { failures, outcome, request, verifier } from './support.ts';

// WooCommerce ships no JavaScript library and its documentation publishes no test vector: these
// signers follow WC_Webhook::generate_signature() independently, with node:crypto:
// base64_encode(hash_hmac('sha256', $body, $secret, true)).
const sign = (secret: string, body: string | Buffer) =>
  createHmac('sha256', secret).update(body).digest('base64');

const SECRET = 'wc-old-secret-0001';
const NEXT = 'wc-new-secret-0002';
const BODY =
  '{"id":727,"status":"processing","currency":"EUR","billing":{"first_name":"Zo\u00e9"},"total":"29.35"}';

const signer = (secret: string): Signer => ({
  configValue: secret,
  sign: ({ body, id }) => ({
    headers: {
      'x-wc-webhook-signature': sign(secret, body),
      'x-wc-webhook-topic': 'order.updated',
      'x-wc-webhook-resource': 'order',
      'x-wc-webhook-event': 'updated',
      'x-wc-webhook-id': '3',
      'x-wc-webhook-delivery-id': id,
      'x-wc-webhook-source': 'https://shop.example.com/',
    },
  }),
});

presetSuite({
  type: 'woocommerce',
  config: (secrets) => ({ secrets }),
  signers: [signer(SECRET), signer(NEXT)],
  wrong: signer('wc-someone-else'),
  body: BODY,
  contentType: 'application/json',
  signatureHeaders: ['x-wc-webhook-signature'],
});

describe('verify: woocommerce', () => {
  it('table: rotation, wrong, tampered, missing and malformed', async () => {
    const v = verifier({ type: 'woocommerce', secrets: [SECRET, NEXT] });
    const cases: [Record<string, string>, string, string][] = [
      [{ 'x-wc-webhook-signature': sign(SECRET, BODY) }, BODY, 'ok'],
      [{ 'x-wc-webhook-signature': sign(NEXT, BODY) }, BODY, 'ok'],
      [{ 'x-wc-webhook-signature': ` ${sign(NEXT, BODY)} ` }, BODY, 'ok'],
      [{ 'x-wc-webhook-signature': sign('another-secret', BODY) }, BODY, 'mismatch'],
      [{ 'x-wc-webhook-signature': sign(SECRET, BODY) }, BODY.replace('29.35', '0.01'), 'mismatch'],
      [{}, BODY, 'missing'],
      [{ 'x-wc-webhook-signature': '' }, BODY, 'missing'],
      // Hex instead of base64, the SHA-1 a filter could choose, and base64url: not WooCommerce's form.
      [
        { 'x-wc-webhook-signature': createHmac('sha256', SECRET).update(BODY).digest('hex') },
        BODY,
        'malformed',
      ],
      [
        { 'x-wc-webhook-signature': createHmac('sha1', SECRET).update(BODY).digest('base64') },
        BODY,
        'malformed',
      ],
      [
        { 'x-wc-webhook-signature': createHmac('sha256', SECRET).update(BODY).digest('base64url') },
        BODY,
        'malformed',
      ],
    ];
    for (const [headers, body, expected] of cases) {
      expect(await outcome(v, request(body, headers)), JSON.stringify(headers)).toBe(expected);
    }
  });

  it('the unsigned creation ping (webhook_id=N, no signature) is refused as missing', async () => {
    const v = verifier({ type: 'woocommerce', secrets: [SECRET] });
    const ping = request('webhook_id=3', {
      'content-type': 'application/x-www-form-urlencoded',
      'user-agent': 'WooCommerce/9.9.0 Hookshot (WordPress/6.8)',
    });
    expect(await outcome(v, ping)).toBe('missing');
  });

  it('two deliveries sharing a delivery id (same webhook, same second) both pass the replay window', async () => {
    // get_new_delivery_id() is wp_hash(webhook id . unix second): the id is not a message id.
    const v = verifier({ type: 'woocommerce', secrets: [SECRET], replayWindow: '10m' });
    const now = Date.now();
    const deliver = async (body: string) => {
      const headers = {
        'x-wc-webhook-signature': sign(SECRET, body),
        'x-wc-webhook-delivery-id': 'd41d8cd98f00b204',
      };
      const result = await v.verify(request(body, headers), now);
      expect(result.ok).toBe(true);
      return v.replay!.claim(result.ok ? result : {}, now);
    };
    expect(await deliver(BODY)).toBeTypeOf('function');
    expect(await deliver(BODY.replace('727', '728'))).toBeTypeOf('function');
    // The byte-identical resend is caught by its signature.
    expect(await deliver(BODY)).toBeUndefined();
  });

  it('the documented example parses as a verifier config', () => {
    const example = woocommerceVerifier.preset!.example.replaceAll(/\$\{\w+\}/g, 'value');
    expect(verifierSchema.parse(load(example))).toMatchObject({ type: 'woocommerce', secrets: ['value'] });
  });

  describe('through a relay', () => {
    let target: Target;
    let relay: Relay;
    afterEach(async () => {
      await relay?.close();
      await target?.close();
    });

    it('refuses the ping with 401 and forwards nothing; the signed delivery passes', async () => {
      target = await startTarget();
      relay = await startRelay(
        `
routes:
  - id: shop
    path: /in/woocommerce
    verify:
      - type: woocommerce
        secrets: ["\${WC_SECRET}"]
    forward:
      url: ${target.url}/orders
`,
        { WC_SECRET: SECRET },
      );
      const ping = await fetch(`${relay.url}/in/woocommerce`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'webhook_id=3',
      });
      expect(ping.status).toBe(401);
      const delivery = await fetch(`${relay.url}/in/woocommerce`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-wc-webhook-signature': sign(SECRET, BODY) },
        body: BODY,
      });
      expect(delivery.status).toBe(200);
      expect(target.received.map((r) => r.body.toString())).toEqual([BODY]);
      expect(await failures(relay, 'shop', 'woocommerce', 'missing')).toBe(1);
    });
  });
});
