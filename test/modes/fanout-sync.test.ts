/**
 * Fan-out on a sync route (docs/routing.md#fan-out): the primary answers the caller, the other
 * targets are queued only once it accepted; a rule choosing another target makes that one answer;
 * and the same through the redis driver (skipped without redis-server outside CI).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Relay, refusedPort, sample, startRelay, startTarget, type Target } from '../helpers.ts';
import { REDIS_SERVER, type RedisServer, startRedis } from '../support/redis-server.ts';

let relay: Relay | undefined;
const targets: Target[] = [];
afterEach(async () => {
  await relay?.close();
  relay = undefined;
  for (const t of targets.splice(0)) await t.close();
});

async function target(handler?: Parameters<typeof startTarget>[0]): Promise<Target> {
  const t = await startTarget(handler);
  targets.push(t);
  return t;
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function config(crm: string, audit: string, rules = '', top = 'queue: { driver: memory }') {
  return `
${top}
admin: { enabled: false }
routes:
  - id: users
    path: /in/users
    retry: { attempts: 1 }
    queue: { minDelay: 10ms, maxDelay: 20ms }
${rules}
    targets:
      - name: audit
        forward: { url: ${audit}/audit }
      - name: crm
        primary: true
        forward: { url: ${crm}/crm }
`;
}

const post = (body: unknown) =>
  fetch(`${relay!.url}/in/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('sync fan-out', () => {
  it("the caller gets the primary's answer; the other target is queued and delivered", async () => {
    const crm = await target((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"crm":"saved"}');
    });
    const audit = await target();
    relay = await startRelay(config(crm.url, audit.url));
    const res = await post({ id: 7 });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ crm: 'saved' });
    expect(crm.received).toHaveLength(1);
    await until(() => audit.received.length === 1, 'the queued copy');
    expect(audit.received[0]!.url).toBe('/audit');
    expect(audit.received[0]!.headers['idempotency-key']).toMatch(/./);
    const text = await (await fetch(`${relay.url}/metrics`)).text();
    expect(sample(text, 'hookrelay_queue_enqueued_total', { route: 'users/audit', result: 'accepted' })).toBe(
      1,
    );
    // The primary answers synchronously: it has no queue of its own.
    expect(sample(text, 'hookrelay_queue_enqueued_total', { route: 'users/crm' })).toBeUndefined();
  });

  it('a refused primary is relayed to the caller and the other target is not stored', async () => {
    const crm = await target((_req, res) => {
      res.statusCode = 409;
      res.end('conflict');
    });
    const audit = await target();
    relay = await startRelay(config(crm.url, audit.url));
    const res = await post({ id: 7 });
    expect(res.status).toBe(409);
    expect(await res.text()).toBe('conflict');
    await new Promise((r) => setTimeout(r, 150));
    expect(audit.received).toHaveLength(0);
    const text = await (await fetch(`${relay.url}/metrics`)).text();
    expect(sample(text, 'hookrelay_queue_enqueued_total', { route: 'users/audit', result: 'accepted' })).toBe(
      0,
    );
  });

  it('the primary accepted but a copy cannot be stored: 503, so the sender retries (the primary may see it twice)', async () => {
    const crm = await target();
    const down = await refusedPort();
    const yaml = config(crm.url, `http://127.0.0.1:${down}`).replace(
      '      - name: audit\n',
      '      - name: audit\n        queue: { maxPending: 1, minDelay: 1h }\n',
    );
    relay = await startRelay(yaml);
    expect((await post({ id: 1 })).status).toBe(200);
    const res = await post({ id: 2 });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: string }).error).toBe('HOOKRELAY_ERR_QUEUE_FULL');
    expect(crm.received).toHaveLength(2);
    const line = relay.logs.filter((l) => l.msg === 'request').at(-1);
    expect(line).toMatchObject({ status: 503, result: 'delivered', attempts: 1 });
  });

  it('a rule choosing the other target makes that one answer, synchronously; nothing is queued', async () => {
    const crm = await target();
    const audit = await target((_req, res) => {
      res.statusCode = 201;
      res.end('audited');
    });
    const rules =
      '    rules:\n      - { name: audit-only, when: { field: body.audit, equals: true }, target: audit }';
    relay = await startRelay(config(crm.url, audit.url, rules));
    const res = await post({ id: 7, audit: true });
    expect(res.status).toBe(201);
    expect(await res.text()).toBe('audited');
    await new Promise((r) => setTimeout(r, 150));
    expect(crm.received).toHaveLength(0);
    expect(audit.received).toHaveLength(1);
  });
});

describe.skipIf(REDIS_SERVER === undefined)('fan-out on the redis driver', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('each target is its own BullMQ queue (`<route>/<target>`): async copies and a sync route’s queued copy', async () => {
    const a = await target();
    const b = await target();
    const top = `queue: { driver: redis, redis: { url: "${redis.url}", prefix: fan } }`;
    relay = await startRelay(`
${top}
admin: { enabled: false }
routes:
  - id: orders
    path: /in/orders
    delivery: async
    queue: { minDelay: 10ms, maxDelay: 20ms }
    dedup: { header: X-Event-Id }
    targets:
      - { name: erp, forward: { url: "${a.url}/erp" } }
      - { name: analytics, forward: { url: "${b.url}/analytics" } }
  - id: users
    path: /in/users
    queue: { minDelay: 10ms, maxDelay: 20ms }
    targets:
      - { name: crm, forward: { url: "${a.url}/crm" } }
      - { name: audit, forward: { url: "${b.url}/audit" } }
`);
    const send = (path: string, id: string) =>
      fetch(`${relay!.url}${path}`, { method: 'POST', headers: { 'x-event-id': id }, body: '{}' });
    const res = await send('/in/orders', 'e1');
    expect(res.status).toBe(202);
    const body = (await res.json()) as { deliveries: { target: string; deliveryId: string }[] };
    expect(body.deliveries.map((d) => d.target)).toEqual(['erp', 'analytics']);
    const again = (await (await send('/in/orders', 'e1')).json()) as { duplicate: boolean };
    expect(again.duplicate).toBe(true);
    expect((await send('/in/users', 'u1')).status).toBe(200);
    await until(
      () =>
        a.received.filter((r) => r.url === '/erp').length === 1 &&
        b.received.filter((r) => r.url === '/analytics').length === 1 &&
        b.received.filter((r) => r.url === '/audit').length === 1,
      'every copy',
    );
    const queues = (await redis.command('KEYS', 'fan:*:meta')).split('\n').sort();
    expect(queues).toEqual(['fan:orders/analytics:meta', 'fan:orders/erp:meta', 'fan:users/audit:meta']);
    const stats = await relay.app.queue!.driver.stats();
    expect(Object.keys(stats.byRoute).sort()).toEqual(['orders/analytics', 'orders/erp', 'users/audit']);
  });
});
