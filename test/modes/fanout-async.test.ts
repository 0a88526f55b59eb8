/**
 * Fan-out on an async route (docs/routing.md#fan-out), through a real relay to real targets: each
 * target is its own durable delivery (`<route>/<target>`), the caller is acknowledged once every
 * copy is stored, a target that is down retries and dead-letters alone, replay, rules and `when`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, refusedPort, sample, startRelay, startTarget, type Target } from '../helpers.ts';

interface Accepted {
  status: string;
  route: string;
  requestId: string;
  duplicate: boolean;
  deliveries: { target: string; deliveryId: string; duplicate: boolean }[];
}

let relay: Relay | undefined;
const targets: Target[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await relay?.close();
  relay = undefined;
  for (const t of targets.splice(0)) await t.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function target(handler?: Parameters<typeof startTarget>[0]): Promise<Target> {
  const t = await startTarget(handler);
  targets.push(t);
  return t;
}

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `hookrelay` as a child process from the repository root. */
function cli(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const { HOOKRELAY_CONFIG: _ignored, ...env } = process.env;
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['src/main.ts', ...args],
      { cwd: resolve(import.meta.dirname, '../..'), env, timeout: 15_000 },
      (_error, stdout, stderr) => done({ stdout, stderr }),
    );
  });
}

const QUEUE = 'queue: { minDelay: 10ms, maxDelay: 20ms }';

/** An order route fanned out to an ERP (XML) and an analytics API (JSON). */
function orders(erp: string, analytics: string, extra = { route: '', erp: '', analytics: '' }, top = '') {
  return `
queue: { driver: memory }
admin: { enabled: true, port: 0 }
${top}
routes:
  - id: orders
    path: /in/orders
    delivery: async
    ${QUEUE}
    transform:
      - type: map
        fields:
          id: order.id
          total: order.total
          kind: order.kind
${extra.route}
    targets:
      - name: erp
        forward:
          url: ${erp}/erp/orders
          auth: { type: bearer, token: erp-token }
        transform:
          - { type: xml-out, root: Order, declaration: false }
${extra.erp}
      - name: analytics
        forward:
          url: ${analytics}/events
          headers: { X-Source: shop }
${extra.analytics}
`;
}

const post = (body: unknown, path = '/in/orders') =>
  fetch(`${relay!.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

const order = { order: { id: 'A-1', total: 250, kind: 'retail' } };

async function metrics(): Promise<string> {
  return (await fetch(`${relay!.url}/metrics`)).text();
}

function admin(): string {
  const address = relay!.app.admin!.address() as { port: number };
  return `http://127.0.0.1:${address.port}`;
}

describe('async fan-out', () => {
  it('stores one delivery per target, answers 202 with every id, and delivers each its own request', async () => {
    const erp = await target();
    const analytics = await target();
    relay = await startRelay(orders(erp.url, analytics.url));
    const res = await post(order);
    expect(res.status).toBe(202);
    const body = (await res.json()) as Accepted;
    expect(body).toMatchObject({ status: 'accepted', route: 'orders', duplicate: false });
    expect(body.deliveries.map((d) => d.target)).toEqual(['erp', 'analytics']);
    const [toErp, toAnalytics] = body.deliveries;
    expect(toErp!.deliveryId).not.toBe(toAnalytics!.deliveryId);
    expect(res.headers.get('x-hookrelay-delivery')).toBe(`${toErp!.deliveryId}, ${toAnalytics!.deliveryId}`);
    await until(() => erp.received.length === 1 && analytics.received.length === 1, 'both deliveries');
    const x = erp.received[0]!;
    expect(x.url).toBe('/erp/orders');
    expect(x.headers['content-type']).toMatch(/^application\/xml/);
    expect(x.headers.authorization).toBe('Bearer erp-token');
    expect(x.headers['idempotency-key']).toBe(toErp!.deliveryId);
    expect(x.body.toString()).toBe('<Order><id>A-1</id><total>250</total><kind>retail</kind></Order>');
    const j = analytics.received[0]!;
    expect(j.url).toBe('/events');
    expect(j.headers['content-type']).toBe('application/json');
    expect(j.headers.authorization).toBeUndefined();
    expect(j.headers['x-source']).toBe('shop');
    expect(j.headers['idempotency-key']).toBe(toAnalytics!.deliveryId);
    expect(JSON.parse(j.body.toString())).toEqual({ id: 'A-1', total: 250, kind: 'retail' });
    await until(async () => {
      const text = await metrics();
      return (
        sample(text, 'hookrelay_queue_deliveries_total', {
          route: 'orders/analytics',
          outcome: 'delivered',
        }) === 1
      );
    }, 'metrics');
    const text = await metrics();
    expect(
      sample(text, 'hookrelay_queue_deliveries_total', { route: 'orders/erp', outcome: 'delivered' }),
    ).toBe(1);
    expect(sample(text, 'hookrelay_queue_enqueued_total', { route: 'orders/erp', result: 'accepted' })).toBe(
      1,
    );
    // The request is counted once, on the route; its copies on their targets' route ids.
    expect(sample(text, 'hookrelay_requests_total', { route: 'orders', status: '202' })).toBe(1);
    expect(
      sample(text, 'hookrelay_queue_enqueued_total', { route: 'orders', result: 'accepted' }),
    ).toBeUndefined();
    const line = relay.logs.find((l) => l.msg === 'request');
    expect(line).toMatchObject({
      route: 'orders',
      status: 202,
      result: 'queued',
      targets: ['erp', 'analytics'],
    });
  });

  it('a target that is down retries and dead-letters alone; the other is delivered; replay delivers it', async () => {
    let up = false;
    const erp = await target((_req, res) => {
      res.statusCode = up ? 200 : 503;
      res.end();
    });
    const analytics = await target();
    relay = await startRelay(
      orders(erp.url, analytics.url, { route: '', erp: '        queue: { maxAttempts: 3 }', analytics: '' }),
    );
    const body = (await (await post(order)).json()) as Accepted;
    const erpId = body.deliveries[0]!.deliveryId;
    await until(() => analytics.received.length === 1, 'the analytics delivery');
    await until(async () => {
      const list = (await (await fetch(`${admin()}/deliveries?route=orders/erp&status=dead`)).json()) as {
        deliveries: { id: string }[];
      };
      return list.deliveries.some((d) => d.id === erpId);
    }, 'the ERP copy dead-lettered');
    expect(erp.received).toHaveLength(3);
    const text = await metrics();
    expect(sample(text, 'hookrelay_queue_deliveries_total', { route: 'orders/erp', outcome: 'dead' })).toBe(
      1,
    );
    expect(sample(text, 'hookrelay_queue_deliveries_total', { route: 'orders/erp', outcome: 'retry' })).toBe(
      2,
    );
    expect(
      sample(text, 'hookrelay_queue_deliveries_total', { route: 'orders/analytics', outcome: 'delivered' }),
    ).toBe(1);
    expect(
      sample(text, 'hookrelay_queue_deliveries_total', { route: 'orders/analytics', outcome: 'dead' }),
    ).toBe(0);
    // Replay of the dead copy, by the target's route id: only the ERP is called again.
    up = true;
    const replay = await fetch(`${admin()}/deliveries/replay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'dead', route: 'orders/erp' }),
    });
    expect(replay.status).toBe(200);
    await until(() => erp.received.length === 4 && erp.received[3] !== undefined, 'the replayed delivery');
    expect(erp.received[3]!.headers['idempotency-key']).toBe(erpId);
    expect(erp.received[3]!.body.toString()).toContain('<id>A-1</id>');
    await new Promise((r) => setTimeout(r, 100));
    expect(analytics.received).toHaveLength(1);
  });

  it('answers 503 and no 202 when one copy cannot be stored (its target queue is full)', async () => {
    const erp = await target();
    const down = await refusedPort();
    relay = await startRelay(
      orders(erp.url, `http://127.0.0.1:${down}`, {
        route: '',
        erp: '',
        analytics: '        queue: { maxPending: 1, minDelay: 1h }',
      }),
    );
    expect((await post(order)).status).toBe(202);
    const res = await post({ order: { id: 'A-2', total: 1, kind: 'retail' } });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('10');
    expect(((await res.json()) as { error: string }).error).toBe('HOOKRELAY_ERR_QUEUE_FULL');
    expect(res.headers.get('x-hookrelay-delivery')).toBeNull();
    const text = await metrics();
    expect(
      sample(text, 'hookrelay_queue_enqueued_total', { route: 'orders/analytics', result: 'full' }),
    ).toBe(1);
    // The copy that was stored is delivered all the same (docs: a retried call can reach it twice).
    await until(() => erp.received.length === 2, 'both ERP copies');
  });

  it('dedup applies per target: a repeated webhook id stores no second copy anywhere', async () => {
    const erp = await target();
    const analytics = await target();
    relay = await startRelay(
      orders(erp.url, analytics.url, { route: '    dedup: { field: id }', erp: '', analytics: '' }),
    );
    const first = (await (await post(order)).json()) as Accepted;
    const again = await post(order);
    expect(again.status).toBe(202);
    expect(again.headers.get('x-hookrelay-duplicate')).toBe('true');
    const second = (await again.json()) as Accepted;
    expect(second.duplicate).toBe(true);
    expect(second.deliveries.map((d) => d.deliveryId)).toEqual(first.deliveries.map((d) => d.deliveryId));
    await until(() => erp.received.length === 1 && analytics.received.length === 1, 'one copy each');
    await new Promise((r) => setTimeout(r, 100));
    expect(erp.received.length + analytics.received.length).toBe(2);
  });

  it('a rule choosing one target stores only that copy', async () => {
    const erp = await target();
    const analytics = await target();
    relay = await startRelay(
      orders(erp.url, analytics.url, {
        route:
          '    rules:\n      - { name: wholesale, when: { field: body.order.kind, equals: wholesale }, target: erp }',
        erp: '',
        analytics: '',
      }),
    );
    const res = await post({ order: { id: 'W-1', total: 5, kind: 'wholesale' } });
    const body = (await res.json()) as Accepted;
    expect(body.deliveries.map((d) => d.target)).toEqual(['erp']);
    await until(() => erp.received.length === 1, 'the ERP copy');
    await new Promise((r) => setTimeout(r, 100));
    expect(analytics.received).toHaveLength(0);
    expect(relay.logs.find((l) => l.msg === 'request')).toMatchObject({
      rule: 'wholesale',
      targets: ['erp'],
    });
  });

  it('`when` per target; none matching is acknowledged as dropped and counted', async () => {
    const erp = await target();
    const analytics = await target();
    relay = await startRelay(
      orders(erp.url, analytics.url, {
        route: '',
        erp: '        when: { field: body.kind, in: [retail, wholesale] }',
        analytics: '        when: { field: body.total, gte: 100 }',
      }),
    );
    const small = (await (await post({ order: { id: 'S', total: 5, kind: 'retail' } })).json()) as Accepted;
    expect(small.deliveries.map((d) => d.target)).toEqual(['erp']);
    const big = (await (await post({ order: { id: 'B', total: 500, kind: 'gift' } })).json()) as Accepted;
    expect(big.deliveries.map((d) => d.target)).toEqual(['analytics']);
    const none = await post({ order: { id: 'N', total: 1, kind: 'gift' } });
    expect(none.status).toBe(200);
    expect(await none.json()).toMatchObject({
      status: 'dropped',
      route: 'orders',
      reason: 'no target matched',
    });
    await until(() => erp.received.length === 1 && analytics.received.length === 1, 'the two copies');
    const text = await metrics();
    expect(sample(text, 'hookrelay_targets_unmatched_total', { route: 'orders' })).toBe(1);
    expect(relay.logs.filter((l) => l.msg === 'request').at(-1)).toMatchObject({
      status: 200,
      result: 'dropped',
      reason: 'no target matched',
    });
  });

  it('a step of one target that refuses the body refuses the call: nothing is stored for any target', async () => {
    const erp = await target();
    const analytics = await target();
    relay = await startRelay(
      orders(erp.url, analytics.url, {
        route: '',
        erp: '',
        analytics:
          '        transform:\n          - type: map\n            fields:\n              ref: { from: ref, required: true }',
      }),
    );
    const res = await post(order);
    expect(res.status).toBe(422);
    expect(((await res.json()) as { message: string }).message).toContain(
      'targets[analytics].transform[0] (map)',
    );
    const text = await metrics();
    expect(
      sample(text, 'hookrelay_transform_errors_total', { route: 'orders', step: 'analytics-0-map' }),
    ).toBe(1);
    expect(sample(text, 'hookrelay_queue_enqueued_total', { route: 'orders/erp', result: 'accepted' })).toBe(
      0,
    );
  });

  it('sqlite: copies still pending when the relay stops are delivered after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hookrelay-fanout-'));
    dirs.push(dir);
    const top = `queue: { driver: sqlite, path: ${join(dir, 'q.db')} }`;
    const down = await refusedPort();
    const config = (url: string) => orders(url, url, undefined, top).replace('queue: { driver: memory }', '');
    relay = await startRelay(config(`http://127.0.0.1:${down}`));
    expect((await post(order)).status).toBe(202);
    expect((await post({ order: { id: 'A-2', total: 1, kind: 'x' } })).status).toBe(202);
    await relay.close();
    relay = undefined;
    // The CLI finds each target's deliveries by its route id.
    const file = join(dir, 'fan.yaml');
    writeFileSync(file, config(`http://127.0.0.1:${down}`));
    const listed = await cli(['deliveries', 'list', '--route', 'orders/erp', '--json', '-c', file]);
    expect(listed.stderr).toBe('');
    const { deliveries } = JSON.parse(listed.stdout) as { deliveries: { route: string; status: string }[] };
    expect(deliveries.map((d) => [d.route, d.status])).toEqual([
      ['orders/erp', 'pending'],
      ['orders/erp', 'pending'],
    ]);
    const back = await target();
    relay = await startRelay(config(back.url));
    await until(() => back.received.length === 4, 'all four copies after the restart');
    expect(back.received.filter((r) => r.url === '/erp/orders')).toHaveLength(2);
    expect(back.received.filter((r) => r.url === '/events')).toHaveLength(2);
  });
});
