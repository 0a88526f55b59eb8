import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, sample, startRelay, startTarget, type Target } from '../helpers.ts';

/** Async, hybrid, dedup and backpressure as a caller sees them through a real relay. */
describe('async and hybrid routes', () => {
  let target: Target;
  let relay: Relay;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
  });

  async function setup(route: string, handler?: Parameters<typeof startTarget>[0], top = '') {
    target = await startTarget(handler);
    relay = await startRelay(`
queue: { driver: memory }
admin: { enabled: false }
${top}
routes:
  - id: r
    path: /in
    forward:
      url: ${target.url}/hook
      auth: { type: bearer, token: s3cret-token }
${route.includes('delivery: async') ? '' : '    retry: { minDelay: 10ms, maxDelay: 50ms }\n'}${route.includes('queue:') ? route.replace('queue: {', 'queue: { minDelay: 10ms, maxDelay: 50ms,') : `${route}\n    queue: { minDelay: 10ms, maxDelay: 50ms }`}`);
  }

  const post = (body = '{"id":"e1"}', headers: Record<string, string> = {}) =>
    fetch(`${relay.url}/in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });

  async function until(check: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('async: 202 with the delivery id at once, then delivered with credentials and the id headers', async () => {
    await setup('    delivery: async');
    const res = await post();
    expect(res.status).toBe(202);
    const body = (await res.json()) as { deliveryId: string; status: string; route: string };
    expect(body).toMatchObject({ status: 'accepted', route: 'r' });
    expect(res.headers.get('x-hookrelay-delivery')).toBe(body.deliveryId);
    await until(() => target.received.length === 1, 'the delivery');
    const got = target.received[0]!;
    expect(got.headers.authorization).toBe('Bearer s3cret-token');
    expect(got.headers['idempotency-key']).toBe(body.deliveryId);
    expect(got.headers['x-hookrelay-delivery']).toBe(body.deliveryId);
    expect(got.body.toString()).toBe('{"id":"e1"}');
  });

  it('async with a respond block answers the fixed acknowledgement', async () => {
    await setup(`    delivery: async
    respond: { status: 200, contentType: text/xml, body: "<ack id='{{ requestId }}'/>" }`);
    const res = await post('{}', { 'x-request-id': 'req-9' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("<ack id='req-9'/>");
    expect(res.headers.get('x-hookrelay-delivery')).toBeTruthy();
  });

  it('async keeps retrying a failing target until it accepts', async () => {
    await setup('    delivery: async', (_req, res, index) => {
      res.statusCode = index < 2 ? 503 : 200;
      res.end();
    });
    expect((await post()).status).toBe(202);
    await until(() => target.received.length === 3, 'three attempts');
    const ids = new Set(target.received.map((r) => r.headers['idempotency-key']));
    expect(ids.size).toBe(1);
  });

  it('hybrid: a quick target gives the caller its real answer', async () => {
    await setup('    delivery: hybrid\n    hybrid: { budget: 2s }', (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"real":"answer"}');
    });
    const res = await post();
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ real: 'answer' });
    expect(target.received).toHaveLength(1);
  });

  it('hybrid: a failing target within the budget is queued, acknowledged, and delivered later', async () => {
    await setup('    delivery: hybrid\n    hybrid: { budget: 300ms }', (_req, res, index) => {
      res.statusCode = index < 3 ? 503 : 200;
      res.end();
    });
    const res = await post();
    expect(res.status).toBe(202);
    const { deliveryId } = (await res.json()) as { deliveryId: string };
    await until(() => target.received.length >= 4, 'the queued retry');
    // The synchronous attempts carried the same id as the queued ones.
    expect(new Set(target.received.map((r) => r.headers['idempotency-key']))).toEqual(new Set([deliveryId]));
  });

  it('dedup by header: a repeated id is answered as accepted with the first id, and not delivered twice', async () => {
    await setup('    delivery: async\n    dedup: { header: X-Event-Id, window: 1h }');
    const first = (await (await post('{"n":1}', { 'x-event-id': 'evt-1' })).json()) as { deliveryId: string };
    const again = await post('{"n":1}', { 'x-event-id': 'evt-1' });
    expect(again.status).toBe(202);
    expect(again.headers.get('x-hookrelay-duplicate')).toBe('true');
    expect(((await again.json()) as { deliveryId: string }).deliveryId).toBe(first.deliveryId);
    await post('{"n":2}', { 'x-event-id': 'evt-2' });
    await until(() => target.received.length === 2, 'two deliveries');
    await new Promise((r) => setTimeout(r, 200));
    expect(target.received).toHaveLength(2);
    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    expect(sample(metrics, 'hookrelay_dedup_dropped_total', { route: 'r' })).toBe(1);
    expect(sample(metrics, 'hookrelay_queue_enqueued_total', { route: 'r', result: 'duplicate' })).toBe(1);
  });

  it('dedup by body field', async () => {
    await setup('    delivery: async\n    dedup: { field: event.id }');
    await post('{"event":{"id":"a"}}');
    const again = await post('{"event":{"id":"a"},"retry":true}');
    expect(again.headers.get('x-hookrelay-duplicate')).toBe('true');
  });

  it('backpressure: beyond maxPending the caller gets 503 with Retry-After, and nothing is stored', async () => {
    // The target never answers within the test, so deliveries stay pending or in flight.
    await setup('    delivery: async\n    queue: { maxPending: 2, concurrency: 1 }', () => undefined);
    expect((await post()).status).toBe(202);
    expect((await post()).status).toBe(202);
    const full = await post();
    expect(full.status).toBe(503);
    expect(full.headers.get('retry-after')).toBe('10');
    const body = (await full.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ error: 'HOOKRELAY_ERR_QUEUE_FULL', route: 'r' });
    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    expect(sample(metrics, 'hookrelay_queue_enqueued_total', { route: 'r', result: 'full' })).toBe(1);
  });

  it('a storage failure answers 503 and acknowledges nothing', async () => {
    await setup('    delivery: async');
    await relay.app.queue!.driver.close();
    const res = await post();
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(((await res.json()) as Record<string, unknown>).error).toBe('HOOKRELAY_ERR_QUEUE_UNAVAILABLE');
  });

  it('dedup on a sync route is a config error', async () => {
    await expect(
      startRelay(`
routes:
  - id: r
    path: /in
    forward: { url: "http://127.0.0.1:9/x" }
    dedup: { header: X-Event-Id }
`),
    ).rejects.toThrow(/routes\[0\]\.dedup: needs `delivery: async`/);
  });
});
