import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, sample, startRelay, startTarget, type Target } from '../helpers.ts';
import { cli, declaredJson, documentedCommand, example } from './support.ts';

/** config/examples/json-reshape.yaml: a shop's order.created event reshaped for an ERP API. */
const ex = example('json-reshape');
const TOKEN = 'erp-api-s3cret';
const WEBHOOK_ID = 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043';

describe('json-reshape', () => {
  let target: Target | undefined;
  let relay: Relay | undefined;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
    relay = undefined;
    target = undefined;
  });

  async function start() {
    target = await startTarget((_req, res) => {
      res.statusCode = 201;
      res.setHeader('content-type', 'application/json');
      res.end('{"salesOrder":"SO-1"}');
    });
    relay = await startRelay(ex.source, { ERP_URL: target.url, ERP_API_TOKEN: TOKEN });
    return relay;
  }

  const post = (url: string, body: Buffer | string) =>
    fetch(`${url}/shop/orders/created`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-shopify-topic': 'orders/create',
        'x-shopify-shop-domain': 'acme.myshopify.com',
        'x-shopify-webhook-id': WEBHOOK_ID,
        'x-shopify-hmac-sha256': 'bm90LWEtcmVhbC1obWFj',
      },
      body,
    });

  it('forwards the reshaped order with the token and an idempotency key; the shop gets the ERP answer', async () => {
    const { url, logs } = await start();
    const res = await post(url, ex.fixture('request.json'));
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ salesOrder: 'SO-1' });

    expect(target!.received).toHaveLength(1);
    const got = target!.received[0]!;
    expect(got.method).toBe('POST');
    expect(got.url).toBe('/api/sales-orders');
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(got.headers['idempotency-key']).toBe(WEBHOOK_ID);
    expect(got.headers['x-shopify-topic']).toBe('orders/create');
    expect(got.headers['x-shopify-hmac-sha256']).toBeUndefined();
    expect(JSON.parse(got.body.toString('utf8'))).toEqual(ex.expected);
    expect(JSON.stringify(logs)).not.toContain(TOKEN);
  });

  it('broken JSON: 400 with line and column, nothing forwarded', async () => {
    const { url } = await start();
    const res = await post(url, '{\n  "name": "#1003",\n}');
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; message: string };
    expect(body.error).toBe('HOOKRELAY_ERR_MALFORMED_BODY');
    expect(body.message).toMatch(/^transform\[0\] \(map\): malformed JSON body: .*line 3, column \d+/);
    expect(target!.received).toHaveLength(0);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(sample(metrics, 'hookrelay_transform_errors_total', { route: 'shop-orders', step: '0-map' })).toBe(
      1,
    );
  });

  it('the fixture and the test case in the YAML expect the same body', () => {
    expect(declaredJson(ex, { ERP_API_TOKEN: 'x' }, 'a shop order becomes an ERP sales order')).toEqual(
      ex.expected,
    );
  });

  it('`# Check:` runs the tests declared in the file, and they pass', async () => {
    const { env, args } = documentedCommand(ex, 'Check');
    const result = await cli(args, env);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^3 passed, 0 failed$/m);
    expect(result.code).toBe(0);
  });

  it('`# Try:` prints the reshaped order and no token', async () => {
    const { env, args } = documentedCommand(ex, 'Try');
    const result = await cli(args, { ...env, ERP_API_TOKEN: TOKEN });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^POST https:\/\/erp\.example\.com\/api\/sales-orders\n/);
    expect(result.stdout).toContain('authorization: Bearer <redacted>\n');
    expect(result.stdout).toContain(`idempotency-key: ${WEBHOOK_ID}\n`);
    expect(result.stdout).toContain(`\n${JSON.stringify(ex.expected, null, 2)}\n`);
    expect(result.stdout).not.toContain(TOKEN);
  });
});
