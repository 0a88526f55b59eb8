import { createServer, type Server } from 'node:http';
import { sign } from '@octokit/webhooks-methods';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RedisReplayStore } from '../../src/queue/redis-replay.ts';
import { refusedPort } from '../helpers.ts';
import { type Child, childProcesses } from '../support/child.ts';
import { REDIS_SERVER, type RedisServer, startRedis } from '../support/redis-server.ts';
import { settingsFor } from './redis-fixtures.ts';

/**
 * The verifiers' replay window in Redis (`queue.driver: redis`): one window for every instance,
 * so a captured webhook resent to another replica is refused too. First the store itself on a
 * real redis-server, then two relays as child processes with a real GitHub signature.
 */

const SECRET = 'gh-replay-secret-0001';

describe.skipIf(REDIS_SERVER === undefined)('the shared replay window (redis)', () => {
  let redis: RedisServer | undefined;
  const stores: RedisReplayStore[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    await redis?.stop();
    redis = undefined;
  });
  const open = (server: RedisServer, prefix?: string) => {
    const store = new RedisReplayStore(settingsFor(server, prefix === undefined ? {} : { prefix }));
    stores.push(store);
    return store;
  };

  it('claims all names or none, across two connections, within the window only', async () => {
    redis = await startRedis();
    const one = open(redis, 'shared');
    const two = open(redis, 'shared');
    expect(await one.claim('r:0', ['id:a', 'sig:s1'], 60_000)).toBeTypeOf('function');
    // The same id under another signature, or the same signature under another id: a replay.
    expect(await two.claim('r:0', ['id:a', 'sig:s2'], 60_000)).toBeUndefined();
    expect(await two.claim('r:0', ['id:b', 'sig:s1'], 60_000)).toBeUndefined();
    // A refused claim set nothing: `sig:s2` and `id:b` are still free.
    expect(await two.claim('r:0', ['id:b', 'sig:s2'], 60_000)).toBeTypeOf('function');
    // Another verifier (scope) has its own window.
    expect(await two.claim('r:1', ['id:a', 'sig:s1'], 60_000)).toBeTypeOf('function');
    // Another deployment (prefix) on the same Redis too.
    expect(await open(redis, 'other').claim('r:0', ['id:a'], 60_000)).toBeTypeOf('function');
    // The window is Redis' expiry: once over, the message passes again.
    expect(await one.claim('r:0', ['id:short'], 150)).toBeTypeOf('function');
    expect(await two.claim('r:0', ['id:short'], 150)).toBeUndefined();
    await new Promise((r) => setTimeout(r, 300));
    expect(await two.claim('r:0', ['id:short'], 150)).toBeTypeOf('function');
  });

  it('a release forgets only its own claim, and the keys reveal nothing the caller sent', async () => {
    redis = await startRedis();
    const store = open(redis, 'rel');
    const first = (await store.claim('r:0', ['id:order-4711'], 60_000))!;
    first();
    await until(async () => (await redis!.command('KEYS', 'rel:replay:*')) === '');
    const second = (await store.claim('r:0', ['id:order-4711'], 60_000))!;
    // A late release of the first claim does not forget the second.
    first();
    await new Promise((r) => setTimeout(r, 100));
    expect(await store.claim('r:0', ['id:order-4711'], 60_000)).toBeUndefined();
    const keys = await redis.command('KEYS', 'rel:replay:*');
    expect(keys).toMatch(/^rel:replay:r:0:[0-9a-f]{64}$/);
    expect(keys).not.toContain('4711');
    const ttl = Number(await redis.command('PTTL', keys));
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    second();
  });

  it('rejects, within commandTimeout, while Redis is down; claims again once it is back', async () => {
    redis = await startRedis();
    const store = new RedisReplayStore(settingsFor(redis, { commandTimeout: 300, connectTimeout: 300 }));
    stores.push(store);
    expect(await store.claim('r:0', ['id:x'], 60_000)).toBeTypeOf('function');
    expect(store.ready()).toBe(true);
    redis.pause();
    const started = Date.now();
    await expect(store.claim('r:0', ['id:y'], 60_000)).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5_000);
    redis.resume();
    await until(async () => store.ready());
    expect(await store.claim('r:0', ['id:x'], 60_000)).toBeUndefined();
    expect(await store.claim('r:0', ['id:y'], 60_000)).toBeTypeOf('function');
  });
});

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.skipIf(REDIS_SERVER === undefined)('two relays on one Redis share the replay window', () => {
  const children = childProcesses();
  let redis: RedisServer | undefined;
  let target: Server | undefined;
  afterEach(async () => {
    children.cleanup();
    target?.closeAllConnections();
    await new Promise<void>((resolve) => (target ? target.close(() => resolve()) : resolve()));
    target = undefined;
    await redis?.stop();
    redis = undefined;
  });
  afterAll(() => children.removeDir());

  const received: string[] = [];
  async function startTarget(): Promise<number> {
    received.length = 0;
    target = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push(`${req.url} ${Buffer.concat(chunks).toString()}`);
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => target!.listen(0, '127.0.0.1', resolve));
    return (target.address() as { port: number }).port;
  }

  const config = (redisUrl: string, targetPort: number) =>
    children.writeConfig(`server: { port: 0, host: 127.0.0.1, shutdownGrace: 1s }
log: { level: info }
queue:
  driver: redis
  redis: { url: "${redisUrl}", commandTimeout: 500ms, connectTimeout: 500ms }
admin: { enabled: false }
routes:
  - id: gh-async
    path: /in/async
    delivery: async
    verify: [{ type: github, secrets: ["\${GH_SECRET}"], replayWindow: 10m }]
    forward: { url: "http://127.0.0.1:${targetPort}/async" }
  - id: gh-sync
    path: /in/sync
    verify: [{ type: github, secrets: ["\${GH_SECRET}"], replayWindow: 10m }]
    forward: { url: "http://127.0.0.1:${targetPort}/sync" }
`);

  async function send(relay: Child, path: string, body: string, delivery: string) {
    const res = await fetch(`${relay.url}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': delivery,
        'x-hub-signature-256': await sign(SECRET, body),
      },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    const json = (res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : {}) as {
      error?: string;
    };
    return { status: res.status, retryAfter: res.headers.get('retry-after'), error: json.error, text };
  }

  it('a webhook accepted by one instance and replayed to the other is refused (async and sync routes)', {
    timeout: 60_000,
  }, async () => {
    redis = await startRedis();
    const file = config(redis.url, await startTarget());
    const env = { GH_SECRET: SECRET };
    const a = await children.start(['start', '-c', file], { env });
    const b = await children.start(['start', '-c', file], { env });
    for (const path of ['/in/async', '/in/sync']) {
      const body = JSON.stringify({ ref: 'refs/heads/main', path });
      const first = await send(a, path, body, `d-${path}`);
      expect(first.status, JSON.stringify(first)).toBe(path === '/in/async' ? 202 : 200);
      // The captured request, byte for byte, to the other replica; then under a fresh delivery id.
      const replayed = await send(b, path, body, `d-${path}`);
      expect(replayed.status).toBe(401);
      expect(replayed.error).toBe('HOOKRELAY_ERR_UNAUTHORIZED');
      expect(replayed.text).toContain('replayed');
      expect((await send(b, path, body, `fresh-${path}`)).status).toBe(401);
      expect((await send(a, path, body, `d-${path}`)).status).toBe(401);
    }
    const deliveredOnce = async () => received.filter((r) => r.startsWith('/async')).length === 1;
    await until(deliveredOnce, 10_000);
    expect(received.filter((r) => r.startsWith('/sync'))).toHaveLength(1);
    const refusedLog = await b.waitForLog((log) => log.code === 'HOOKRELAY_ERR_UNAUTHORIZED');
    expect(JSON.stringify(refusedLog)).not.toContain(SECRET);
  });

  it('a webhook the target refused is forgotten by every instance, so the retry gets through anywhere', {
    timeout: 60_000,
  }, async () => {
    redis = await startRedis();
    // The sync route answers 502 while the target is down: the claim is released.
    const file = config(redis.url, await refusedPort());
    const env = { GH_SECRET: SECRET };
    const a = await children.start(['start', '-c', file], { env });
    const b = await children.start(['start', '-c', file], { env });
    const body = JSON.stringify({ ref: 'refs/heads/retry' });
    const down = await send(a, '/in/sync', body, 'retry-1');
    expect(down.status).toBeGreaterThanOrEqual(500);
    // The release is sent once the answer is out; the retry to the other instance passes verify
    // (and fails at the still-down target again, not as a replay).
    let retried = await send(b, '/in/sync', body, 'retry-1');
    for (let i = 0; i < 20 && retried.status === 401; i++) {
      await new Promise((r) => setTimeout(r, 50));
      retried = await send(b, '/in/sync', body, 'retry-1');
    }
    expect(retried.status).toBeGreaterThanOrEqual(500);
    expect(retried.error).not.toBe('HOOKRELAY_ERR_UNAUTHORIZED');
  });

  it('Redis down: a verified call is refused with 503 REPLAY_UNAVAILABLE and Retry-After, never accepted; /readyz 503', {
    timeout: 60_000,
  }, async () => {
    redis = await startRedis();
    const file = config(redis.url, await startTarget());
    const a = await children.start(['start', '-c', file], { env: { GH_SECRET: SECRET } });
    const body = JSON.stringify({ ref: 'refs/heads/down' });
    await redis.kill();
    const answer = await send(a, '/in/sync', body, 'down-1');
    expect(answer.status).toBe(503);
    expect(answer.error).toBe('HOOKRELAY_ERR_REPLAY_UNAVAILABLE');
    expect(answer.retryAfter).toBe('5');
    expect(received).toHaveLength(0);
    expect((await fetch(`${a.url}/readyz`)).status).toBe(503);
    const metrics = await (await fetch(`${a.url}/metrics`)).text();
    expect(metrics).toMatch(/hookrelay_verify_failures_total\{[^}]*reason="unavailable"[^}]*\} 1/);
    await redis.restart();
    await until(async () => (await fetch(`${a.url}/readyz`)).status === 200, 15_000);
    expect((await send(a, '/in/sync', body, 'down-1')).status).toBe(200);
    expect(received).toHaveLength(1);
  });
});
