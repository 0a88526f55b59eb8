import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import '@shopify/shopify-api/adapters/node';
import { ApiVersion, LogSeverity, shopifyApi } from '@shopify/shopify-api';
import { getHmac } from '@shopify/shopify-api/test-helpers';
import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, startRelay, startTarget, type Target } from '../helpers.ts';
import { presetSuite, type Signer } from './preset-suite.ts';
import { expectCleanLogs, failures, outcome, request, verifier } from './support.ts';

const SECRET = 'shpss_old_0123456789';
const NEXT = 'shpss_new_9876543210';
const BODY = '{"id":820982911946154508,"email":"jon@example.com","note":"caf\u00e9"}';

const shopifyHeaders = (hmac: string, id = 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043') => ({
  'content-type': 'application/json',
  'x-shopify-hmac-sha256': hmac,
  'x-shopify-topic': 'orders/create',
  'x-shopify-shop-domain': 'example.myshopify.com',
  'x-shopify-api-version': '2025-07',
  'x-shopify-webhook-id': id,
});

describe('verify: shopify', () => {
  it('table: rotation, Events-style header, wrong, tampered, missing and malformed', async () => {
    const v = verifier({ type: 'shopify', secrets: [SECRET, NEXT] });
    const cases: [Record<string, string>, string, string][] = [
      [shopifyHeaders(getHmac(BODY, SECRET)), BODY, 'ok'],
      [shopifyHeaders(getHmac(BODY, NEXT)), BODY, 'ok'],
      [{ 'shopify-hmac-sha256': getHmac(BODY, NEXT) }, BODY, 'ok'],
      [shopifyHeaders(getHmac(BODY, 'another-app-secret')), BODY, 'mismatch'],
      [shopifyHeaders(getHmac(BODY, SECRET)), BODY.replace('jon', 'eve'), 'mismatch'],
      [{}, BODY, 'missing'],
      [shopifyHeaders(Buffer.from(getHmac(BODY, SECRET), 'base64').toString('hex')), BODY, 'malformed'],
    ];
    for (const [headers, body, expected] of cases) {
      expect(await outcome(v, request(body, headers)), JSON.stringify(headers)).toBe(expected);
    }
  });

  describe('against @shopify/shopify-api and through a relay', () => {
    let validator: Server | undefined;
    let target: Target;
    let relay: Relay;
    afterEach(async () => {
      await relay?.close();
      await target?.close();
      await new Promise((done) => (validator ? validator.close(done) : done(undefined)));
      validator = undefined;
    });

    /** A real server where Shopify's own library validates what it receives (node adapter). */
    async function shopifyValidator(secret: string): Promise<string> {
      const shopify = shopifyApi({
        apiKey: 'test-api-key',
        apiSecretKey: secret,
        hostName: 'relay.example.com',
        apiVersion: ApiVersion.July25,
        isEmbeddedApp: false,
        logger: { level: LogSeverity.Error, log: () => {} },
      });
      validator = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', async () => {
          const rawBody = Buffer.concat(chunks).toString('utf8');
          const result = await shopify.webhooks.validate({ rawBody, rawRequest: req, rawResponse: res });
          res.end(JSON.stringify({ valid: result.valid }));
        });
      });
      await new Promise<void>((done) => validator!.listen(0, '127.0.0.1', done));
      return `http://127.0.0.1:${(validator.address() as AddressInfo).port}`;
    }

    it('what Shopify validates passes the relay and is forwarded; what it refuses, the relay refuses', async () => {
      const shopifyUrl = await shopifyValidator(SECRET);
      target = await startTarget();
      relay = await startRelay(
        `
routes:
  - id: shop
    path: /in/shopify
    verify:
      - type: shopify
        secrets: ["\${SHOPIFY_WEBHOOK_SECRET}"]
    forward:
      url: ${target.url}/orders
`,
        { SHOPIFY_WEBHOOK_SECRET: SECRET },
      );
      const good = getHmac(BODY, SECRET);
      const bad = getHmac(BODY, NEXT);
      for (const [hmac, valid, status] of [
        [good, true, 200],
        [bad, false, 401],
      ] as const) {
        const init = { method: 'POST', headers: shopifyHeaders(hmac), body: BODY };
        const byShopify = (await (await fetch(shopifyUrl, init)).json()) as { valid: boolean };
        expect(byShopify.valid).toBe(valid);
        expect((await fetch(`${relay.url}/in/shopify`, init)).status).toBe(status);
      }
      expect(target.received.map((r) => r.body.toString())).toEqual([BODY]);
      expect(await failures(relay, 'shop', 'shopify', 'mismatch')).toBe(1);
      expectCleanLogs(relay, [SECRET, NEXT], [good, bad]);
    });
  });
});

const shopifySigner = (secret: string): Signer => ({
  configValue: secret,
  sign: ({ body, id }) => ({ headers: shopifyHeaders(getHmac(body.toString(), secret), id) }),
});
presetSuite({
  type: 'shopify',
  config: (secrets) => ({ secrets }),
  signers: [shopifySigner(SECRET), shopifySigner(NEXT)],
  wrong: shopifySigner('shpss_someone_else_00'),
  body: BODY,
  contentType: 'application/json',
  signatureHeaders: ['x-shopify-hmac-sha256'],
});
