import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { childProcesses } from '../support/child.ts';
import { REDIS_SERVER, type RedisServer, startRedis } from '../support/redis-server.ts';

/**
 * At start the relay reads Redis's durability settings: each one that can lose an acknowledged
 * webhook is a warning naming it; with `durability: refuse` the relay does not start at all.
 */
describe.skipIf(REDIS_SERVER === undefined)('redis durability check at start (child processes)', () => {
  const children = childProcesses();
  let redis: RedisServer | undefined;
  afterEach(async () => {
    children.cleanup();
    await redis?.stop();
    redis = undefined;
  });
  afterAll(() => children.removeDir());

  const config = (url: string, durability: string) =>
    children.writeConfig(`server: { port: 0, host: 127.0.0.1 }
queue:
  driver: redis
  redis: { url: "${url}", durability: ${durability} }
admin: { enabled: false }
routes:
  - id: orders
    path: /in/orders
    delivery: async
    forward: { url: "http://127.0.0.1:9/hook" }
`);

  it('warns, naming appendfsync and maxmemory-policy, and still starts', { timeout: 30_000 }, async () => {
    redis = await startRedis({ settings: { appendfsync: 'everysec', 'maxmemory-policy': 'allkeys-lru' } });
    const relay = await children.start(['start', '-c', config(redis.url, 'warn')]);
    const warnings = relay.logs.filter(
      (l) => typeof l.msg === 'string' && l.msg.startsWith('redis durability'),
    );
    expect(warnings.map((w) => w.setting).sort()).toEqual(['appendfsync', 'maxmemory-policy']);
    expect(warnings[0]).toMatchObject({ level: 'warn' });
    expect((await fetch(`${relay.url}/readyz`)).status).toBe(200);
  });

  it('refuses to start with durability: refuse, saying which settings', { timeout: 30_000 }, async () => {
    redis = await startRedis({ settings: { appendfsync: 'everysec' } });
    await expect(children.start(['start', '-c', config(redis.url, 'refuse')])).rejects.toThrow(
      /appendfsync=everysec/,
    );
  });

  it('starts quietly on a durable Redis over a unix socket', { timeout: 30_000 }, async () => {
    redis = await startRedis({ unixSocket: true });
    const relay = await children.start(['start', '-c', config(redis.url, 'refuse')]);
    expect(relay.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('redis durability'))).toBe(
      false,
    );
    const res = await fetch(`${relay.url}/in/orders`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(202);
  });
});
