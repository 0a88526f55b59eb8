import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, startRelay, startTarget, type Target } from '../helpers.ts';

/**
 * Issue 11: a Shopify order id mapped by a route arrived rounded. Through a real relay and a real
 * target: what the target receives (and what the caller is answered) has the caller's digits.
 */

const ORDER =
  '{"id":5738291046618274931,"line_items":[{"id":12345678901234567890,"price":10.50},{"id":12345678901234567891,"price":0.1000000000000000055511151231257827}],"total":1e400,"refund":-0}';

describe('numbers through the relay', () => {
  let target: Target;
  let relay: Relay;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
  });

  async function setup(route: string, handler?: Parameters<typeof startTarget>[0], top = '') {
    target = await startTarget(handler);
    relay = await startRelay(`
${top}
routes:
  - id: shop
    path: /in
    forward:
      url: ${target.url}/orders
${route}`);
  }

  const post = (body = ORDER, headers: Record<string, string> = {}) =>
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

  it('map fields, a headers step and a respond template send and answer the exact digits', async () => {
    await setup(`    transform:
      - type: map
        fields:
          order.id: id
          order.idText: { from: id, type: string }
          order.lines: line_items
          order.firstPrice: line_items[0].price
          order.total: total
          order.refund: refund
      - type: headers
        set: { X-Order-Id: "{{ body.order.id }}", X-First-Line: "{{ body.order.lines[0].id }}" }
    respond:
      status: 200
      contentType: text/plain
      body: "ok {{ body.order.id }} {{ body.order.lines[1].price }}"`);
    const res = await post();
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok 5738291046618274931 0.1000000000000000055511151231257827');
    const got = target.received[0]!;
    expect(got.body.toString()).toBe(
      '{"order":{"id":5738291046618274931,"idText":"5738291046618274931","lines":[{"id":12345678901234567890,"price":10.50},{"id":12345678901234567891,"price":0.1000000000000000055511151231257827}],"firstPrice":10.50,"total":1e400,"refund":-0}}',
    );
    expect(got.headers['x-order-id']).toBe('5738291046618274931');
    expect(got.headers['x-first-line']).toBe('12345678901234567890');
  });

  it('a respond template over the untransformed body answers the exact digits', async () => {
    await setup(`    respond:
      status: 200
      contentType: text/plain
      body: "ok {{ body.id }} {{ body.line_items[0].price }} {{ body.total }}"`);
    const res = await post();
    expect(await res.text()).toBe('ok 5738291046618274931 10.50 1e400');
    expect(target.received[0]!.body.toString()).toBe(ORDER);
  });

  it('jsonata sends the numbers it moves with their digits and computes on doubles', async () => {
    await setup(`    transform:
      - type: map
        jsonata: |
          {
            "orderId": id,
            "ref": $string(id),
            "lines": line_items,
            "count": $count(line_items),
            "large": line_items[0].price > 10
          }`);
    expect((await post()).status).toBe(200);
    expect(target.received[0]!.body.toString()).toBe(
      '{"orderId":5738291046618274931,"ref":"5738291046618274931","lines":[{"id":12345678901234567890,"price":10.50},{"id":12345678901234567891,"price":0.1000000000000000055511151231257827}],"count":2,"large":true}',
    );
  });

  it('xml-out writes the numbers as the caller wrote them', async () => {
    await setup(`    transform:
      - type: map
        fields: { Order.@id: id, Order.Line: line_items, Order.Refund: refund }
      - type: xml-out
        declaration: false`);
    expect((await post()).status).toBe(200);
    expect(target.received[0]!.body.toString()).toBe(
      '<Order id="5738291046618274931"><Line><id>12345678901234567890</id><price>10.50</price></Line><Line><id>12345678901234567891</id><price>0.1000000000000000055511151231257827</price></Line><Refund>-0</Refund></Order>',
    );
  });

  it('response.transform: the target’s JSON answer reaches the caller with its digits', async () => {
    await setup(
      `    response:
      transform:
        - type: map
          fields: { orderId: result.id, receipt: { from: result.id, type: string }, amount: result.amount }`,
      (_req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end('{"result":{"id":5738291046618274931,"amount":199.90}}');
      },
    );
    const res = await post();
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(
      '{"orderId":5738291046618274931,"receipt":"5738291046618274931","amount":199.90}',
    );
  });

  it('async dedup by a body field tells consecutive 19-digit ids apart', async () => {
    await setup(
      `    delivery: async
    dedup: { field: id }
    queue: { minDelay: 10ms, maxDelay: 50ms }`,
      undefined,
      'queue: { driver: memory }\nadmin: { enabled: false }',
    );
    const first = await post('{"id":5738291046618274931}');
    const next = await post('{"id":5738291046618274932}');
    const again = await post('{"id":5738291046618274931,"retry":true}');
    expect([first.status, next.status, again.status]).toEqual([202, 202, 202]);
    expect(first.headers.get('x-hookrelay-duplicate')).toBeNull();
    expect(next.headers.get('x-hookrelay-duplicate')).toBeNull();
    expect(again.headers.get('x-hookrelay-duplicate')).toBe('true');
    await until(() => target.received.length === 2, 'two deliveries');
    expect(target.received.map((r) => r.body.toString()).sort()).toEqual([
      '{"id":5738291046618274931}',
      '{"id":5738291046618274932}',
    ]);
  });
});
