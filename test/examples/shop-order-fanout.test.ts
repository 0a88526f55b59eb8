import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, sample, startRelay, startTarget, type Target } from '../helpers.ts';
import { cli, documentedCommand, example } from './support.ts';

/**
 * config/examples/shop-order-fanout.yaml: a signed shop order fanned out on an async route to an
 * ERP (XML, Basic) and an analytics API (JSON, bearer), one durable delivery each.
 */
const ex = example('shop-order-fanout');
const SECRET = 'shop-signing-s3cret';
const ERP_PASSWORD = 'erp-passw0rd-s3cret';
const TOKEN = 'analytics-t0ken-s3cret';
const ERP_XML = ex.fixture('expected-erp.xml').toString('utf8').trim();
const ORDER = ex.fixture('request.json').toString('utf8').trim();

const sign = (body: string) => createHmac('sha256', SECRET).update(body).digest('base64');

async function until(check: () => boolean, what: string, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('shop-order-fanout', () => {
  let erp: Target | undefined;
  let analytics: Target | undefined;
  let relay: Relay | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await relay?.close();
    await Promise.all([erp?.close(), analytics?.close()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
    relay = erp = analytics = dir = undefined;
  });

  async function start(erpStatus = () => 201) {
    dir = mkdtempSync(join(tmpdir(), 'hookrelay-fanout-'));
    erp = await startTarget((_req, res) => {
      res.statusCode = erpStatus();
      res.end();
    });
    analytics = await startTarget();
    relay = await startRelay(ex.source, {
      SHOP_SECRET: SECRET,
      ERP_PASSWORD,
      ANALYTICS_TOKEN: TOKEN,
      ERP_URL: `${erp.url}/api/sales-orders`,
      ANALYTICS_URL: `${analytics.url}/v1/events`,
      QUEUE_PATH: join(dir, 'queue.db'),
    });
    return relay;
  }

  const post = (url: string, body: string, signature = sign(body)) =>
    fetch(`${url}/shop/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-shop-signature': signature },
      body,
    });

  it('one order: 202 with both delivery ids, the ERP gets XML, analytics JSON, each with its credentials', async () => {
    const { url, logs } = await start();
    const res = await post(url, ORDER);
    expect(res.status).toBe(202);
    const body = (await res.json()) as { deliveries: { target: string; deliveryId: string }[] };
    expect(body.deliveries.map((d) => d.target)).toEqual(['erp', 'analytics']);
    expect(res.headers.get('x-hookrelay-delivery')?.split(', ')).toHaveLength(2);
    await until(() => erp!.received.length === 1 && analytics!.received.length === 1, 'both copies');
    const xml = erp!.received[0]!;
    expect(xml.headers['content-type']).toBe('application/xml; charset=utf-8');
    expect(xml.headers.authorization).toBe(
      `Basic ${Buffer.from(`webshop:${ERP_PASSWORD}`).toString('base64')}`,
    );
    expect(xml.body.toString('utf8')).toBe(ERP_XML);
    const event = analytics!.received[0]!;
    expect(event.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(JSON.parse(event.body.toString('utf8'))).toEqual(ex.expected);
    const text = JSON.stringify(logs);
    for (const secret of [SECRET, ERP_PASSWORD, TOKEN]) expect(text).not.toContain(secret);
  });

  it('the ERP down: analytics is delivered at once, the ERP copy retries on its own', async () => {
    let erpUp = false;
    const { url } = await start(() => (erpUp ? 201 : 503));
    expect((await post(url, ORDER)).status).toBe(202);
    await until(() => analytics!.received.length === 1 && erp!.received.length >= 1, 'the first attempts');
    // Each copy is counted under its own route id; the outcome is recorded once the attempt ended.
    const counted = async (route: string, outcome: string) =>
      sample(await (await fetch(`${url}/metrics`)).text(), 'hookrelay_queue_deliveries_total', {
        route,
        outcome,
      }) ?? 0;
    const end = Date.now() + 5000;
    while ((await counted('shop-orders/erp', 'retry')) < 1 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await counted('shop-orders/erp', 'retry')).toBeGreaterThanOrEqual(1);
    expect(await counted('shop-orders/analytics', 'delivered')).toBe(1);
    erpUp = true;
    // The ERP copy's next attempt is after the route's minDelay (5 s).
    await until(() => erp!.received.length >= 2, 'the ERP retry', 12_000);
    expect(analytics!.received).toHaveLength(1);
  }, 20_000);

  it('a re-sent event stores no second copy; a forged one and a refund are not stored', async () => {
    const { url } = await start();
    expect((await post(url, ORDER)).status).toBe(202);
    const again = await post(url, ORDER);
    expect(again.status).toBe(202);
    expect(((await again.json()) as { duplicate: boolean }).duplicate).toBe(true);
    expect((await post(url, ORDER, sign('another body'))).status).toBe(401);
    const refund = '{"id":"evt_2","type":"refund.created","data":{}}';
    const dropped = await post(url, refund);
    expect(dropped.status).toBe(200);
    expect(await dropped.json()).toMatchObject({ status: 'dropped', rule: 'not-an-order' });
    await until(() => erp!.received.length === 1 && analytics!.received.length === 1, 'both copies');
    await new Promise((r) => setTimeout(r, 200));
    expect(erp!.received).toHaveLength(1);
    expect(analytics!.received).toHaveLength(1);
  });

  it('`# Check:` runs the tests declared in the file, and they pass', async () => {
    const { env, args } = documentedCommand(ex, 'Check');
    const result = await cli(args, env);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^2 passed, 0 failed$/m);
    expect(result.code).toBe(0);
  });

  it("`# Try:` prints each target's request, and no credential", async () => {
    const { env, args } = documentedCommand(ex, 'Try');
    const result = await cli(args, { ...env, ERP_PASSWORD, ANALYTICS_TOKEN: TOKEN });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('# target erp (queued, as a delivery of route shop-orders/erp)');
    expect(result.stdout).toContain(ERP_XML);
    expect(result.stdout).toContain(`\n${JSON.stringify(ex.expected, null, 2)}\n`);
    expect(result.stdout).not.toContain(ERP_PASSWORD);
    expect(result.stdout).not.toContain(TOKEN);
  });
});
