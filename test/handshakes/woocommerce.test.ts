import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, sample, startRelay, startTarget, type Target } from '../helpers.ts';
import { call, preset, reply } from './support.ts';

/**
 * WooCommerce's webhook ping (WC_Webhook::deliver_ping(): the form body `webhook_id=<id>`, no
 * signature, no X-WC-Webhook-* headers): answered 200 before `verify`, never forwarded; everything
 * else, forged events included, goes on to the `woocommerce` verifier.
 */

const SECRET = 'wc-handshake-secret-0001';
const sign = (secret: string, body: string) => createHmac('sha256', secret).update(body).digest('base64');
const ORDER = '{"id":727,"status":"processing","currency":"EUR","total":"29.35"}';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

function delivery(secret: string, body: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-wc-webhook-source': 'https://shop.example.com/',
    'x-wc-webhook-topic': 'order.updated',
    'x-wc-webhook-resource': 'order',
    'x-wc-webhook-event': 'updated',
    'x-wc-webhook-signature': sign(secret, body),
    'x-wc-webhook-id': '3',
    'x-wc-webhook-delivery-id': 'a3f1c0de',
  };
}

const ANSWER = {
  kind: 'answer',
  status: 200,
  headers: {
    'content-type': 'text/plain; charset=utf-8',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; sandbox",
    'cache-control': 'no-store',
  },
  body: '',
};

describe('handshake: woocommerce', () => {
  const woocommerce = preset({ type: 'woocommerce' });

  it('is unsigned, POST only', () => {
    expect(woocommerce.signed).toBe(false);
    expect(woocommerce.methods).toEqual(['POST']);
  });

  it('the ping is answered 200 with an empty body, whatever its id (nothing echoed)', () => {
    expect(reply(woocommerce, call('POST', '', 'webhook_id=42', FORM))).toEqual(ANSWER);
    expect(reply(woocommerce, call('POST', '', 'webhook_id=1'))).toEqual(ANSWER);
    expect(reply(woocommerce, call('POST', '', `webhook_id=${'9'.repeat(20)}`, FORM))).toEqual(ANSWER);
    // The User-Agent WooCommerce sends changes nothing.
    const ua = { ...FORM, 'user-agent': 'WooCommerce/9.8.0 Hookshot (WordPress/6.8)' };
    expect(reply(woocommerce, call('POST', '', 'webhook_id=7', ua))).toEqual(ANSWER);
  });

  it('a ping with extra fields or another shape is not the ping', () => {
    for (const body of [
      'webhook_id=42&topic=order.created',
      'topic=order.created&webhook_id=42',
      'webhook_id=42&webhook_id=43',
      'webhook_id=42\n',
      ' webhook_id=42',
      'webhook_id= 42',
      'webhook_id=',
      'webhook_id=-1',
      'webhook_id=4a',
      'webhook_id=%34%32',
      'webhook_id=\uff14\uff12', // fullwidth digits
      'webhook_id=4\u00002',
      `webhook_id=${'9'.repeat(21)}`,
      'WEBHOOK_ID=42',
      'webhook_ids=42',
    ]) {
      expect(reply(woocommerce, call('POST', '', body, FORM)), JSON.stringify(body)).toBeUndefined();
    }
  });

  it('a call with a signature or topic header is a delivery, not the ping', () => {
    const signature = { ...FORM, 'X-WC-Webhook-Signature': sign(SECRET, 'webhook_id=42') };
    const candidate = call('POST', '', 'webhook_id=42', signature);
    expect(woocommerce.candidate(candidate)).toBe(false);
    expect(reply(woocommerce, candidate)).toBeUndefined();
    expect(
      reply(woocommerce, call('POST', '', 'webhook_id=42', { 'X-WC-Webhook-Signature': '' })),
    ).toBeUndefined();
    const topic = { ...FORM, 'X-WC-Webhook-Topic': 'order.created' };
    expect(reply(woocommerce, call('POST', '', 'webhook_id=42', topic))).toBeUndefined();
    expect(
      reply(woocommerce, call('POST', '', 'webhook_id=42', delivery(SECRET, 'webhook_id=42'))),
    ).toBeUndefined();
  });

  it('other bodies go on, and are not even candidates', () => {
    for (const body of [ORDER, '', '{"webhook_id":42}', `webhook_id=42&${'x'.repeat(40)}`]) {
      const request = call('POST', '', body, FORM);
      expect(woocommerce.candidate(request), body).toBe(false);
      expect(reply(woocommerce, request), body).toBeUndefined();
    }
    expect(reply(woocommerce, call('POST', '', ORDER, delivery(SECRET, ORDER)))).toBeUndefined();
  });

  it('GET (or any other method) is not the ping', () => {
    for (const method of ['GET', 'PUT', 'HEAD']) {
      const request = call(method, 'webhook_id=42', 'webhook_id=42', FORM);
      expect(woocommerce.candidate(request), method).toBe(false);
      expect(reply(woocommerce, request), method).toBeUndefined();
    }
  });

  describe('through a relay', () => {
    let target: Target;
    let relay: Relay;
    afterEach(async () => {
      await relay?.close();
      await target?.close();
    });

    it('the ping gets 200 and reaches nobody; signed events are forwarded; forged ones are 401', async () => {
      target = await startTarget();
      relay = await startRelay(
        `
routes:
  - id: woo
    path: /in/woocommerce
    methods: [POST]
    handshake: { type: woocommerce }
    verify:
      - type: woocommerce
        secrets: ["\${WOOCOMMERCE_WEBHOOK_SECRET}"]
    forward:
      url: ${target.url}/orders
`,
        { WOOCOMMERCE_WEBHOOK_SECRET: SECRET },
      );
      const post = (headers: Record<string, string>, body: string) =>
        fetch(`${relay.url}/in/woocommerce`, { method: 'POST', headers, body });

      const ping = await post(
        { ...FORM, 'user-agent': 'WooCommerce/9.8.0 Hookshot (WordPress/6.8)' },
        'webhook_id=42',
      );
      expect(ping.status).toBe(200);
      expect(await ping.text()).toBe('');
      expect(ping.headers.get('x-content-type-options')).toBe('nosniff');
      expect(ping.headers.get('x-request-id')).toBeTruthy();
      expect(target.received).toEqual([]);

      // Not the ping: verify refuses it, the target still gets nothing.
      const extra = await post(FORM, 'webhook_id=42&status=completed');
      expect(extra.status).toBe(401);
      const unsigned = await post({ 'content-type': 'application/json' }, ORDER);
      expect(unsigned.status).toBe(401);
      const forged = await post(delivery('not-the-webhook-secret', ORDER), ORDER);
      expect(forged.status).toBe(401);
      expect(((await forged.json()) as { error: string }).error).toBe('HOOKRELAY_ERR_UNAUTHORIZED');
      // A signature header on the ping's body makes it a delivery, checked like any.
      const signedLooking = await post(delivery('not-the-webhook-secret', 'webhook_id=42'), 'webhook_id=42');
      expect(signedLooking.status).toBe(401);
      expect(target.received).toEqual([]);

      const event = await post(delivery(SECRET, ORDER), ORDER);
      expect(event.status).toBe(200);
      expect(target.received.map((r) => r.body.toString())).toEqual([ORDER]);

      const text = await (await fetch(`${relay.url}/metrics`)).text();
      expect(sample(text, 'hookrelay_handshakes_answered_total', { route: 'woo', type: 'woocommerce' })).toBe(
        1,
      );
      const line = relay.logs.find((l) => l.msg === 'request' && l.handshake === 'woocommerce');
      expect(line).toMatchObject({ result: 'handshake' });
      // missing: the ping with extra fields and the unsigned event; mismatch: the two forged ones.
      for (const reason of ['missing', 'mismatch']) {
        expect(
          sample(text, 'hookrelay_verify_failures_total', { route: 'woo', verifier: 'woocommerce', reason }),
          reason,
        ).toBe(2);
      }
    });
  });
});
