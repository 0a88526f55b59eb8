import { createServer, type Server } from 'node:http';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { refusedPort } from '../helpers.ts';
import { type Child, childProcesses } from '../support/child.ts';
import { REDIS_SERVER, type RedisServer, startRedis } from '../support/redis-server.ts';

/**
 * Several relays on one Redis (`queue.driver: redis`), as real child processes against a real
 * redis-server with AOF `always`: what a user who scales out is promised. Every webhook answered
 * 202 reaches the target, whichever instance took it and whichever instance or Redis is killed;
 * duplicates (at-least-once) stay bounded by what was in flight; Redis trouble gives 503s, never
 * a 202 for a webhook that was not stored.
 */

const CONCURRENCY = 8;

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The target: counts each webhook `n` it received and checks it carries its delivery id. */
function recorder(ids: Map<number, string>) {
  const seen = new Map<number, number>();
  const state = { inFlight: 0, wrongIds: 0 };
  const server: Server = createServer((req, res) => {
    state.inFlight++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      setTimeout(() => {
        const { n } = JSON.parse(Buffer.concat(chunks).toString()) as { n: number };
        if (req.headers['x-hookrelay-delivery'] !== ids.get(n)) state.wrongIds++;
        seen.set(n, (seen.get(n) ?? 0) + 1);
        state.inFlight--;
        res.end('ok');
      }, 10);
    });
  });
  return {
    seen,
    state,
    duplicates: () => [...seen.values()].reduce((sum, count) => sum + count - 1, 0),
    listen: (port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function post(
  relay: Child,
  n: number,
): Promise<{ status: number; deliveryId?: string; error?: string; retryAfter?: string | null }> {
  try {
    const res = await fetch(`${relay.url}/in/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ n }),
      signal: AbortSignal.timeout(15_000),
    });
    const body = (await res.json()) as { deliveryId?: string; error?: string };
    return { ...body, status: res.status, retryAfter: res.headers.get('retry-after') };
  } catch (error) {
    return { status: 0, error: (error as Error).message };
  }
}

describe.skipIf(REDIS_SERVER === undefined)('several relays on one Redis (child processes)', () => {
  const children = childProcesses();
  let redis: RedisServer | undefined;
  let target: ReturnType<typeof recorder> | undefined;
  afterEach(async () => {
    children.cleanup();
    await target?.close();
    target = undefined;
    await redis?.stop();
    redis = undefined;
  });
  afterAll(() => children.removeDir());

  const config = (redisUrl: string, targetPort: number, lease = '3s') =>
    children.writeConfig(`server: { port: 0, host: 127.0.0.1, shutdownGrace: 1s }
log: { level: info }
queue:
  driver: redis
  redis: { url: "${redisUrl}", commandTimeout: 1s, connectTimeout: 1s }
admin: { enabled: false }
routes:
  - id: orders
    path: /in/orders
    delivery: async
    forward: { url: "http://127.0.0.1:${targetPort}/hook" }
    timeouts: { attempt: 1s }
    queue: { concurrency: ${CONCURRENCY}, maxAttempts: 1000, lease: ${lease}, minDelay: 20ms, maxDelay: 200ms }
`);

  it('two instances take 500 webhooks with the target down; one is killed -9; the survivor delivers all 500', {
    timeout: 120_000,
  }, async () => {
    redis = await startRedis();
    const targetPort = await refusedPort();
    const file = config(redis.url, targetPort);
    const a = await children.start(['start', '-c', file]);
    const b = await children.start(['start', '-c', file]);
    const ids = new Map<number, string>();
    for (let batch = 0; batch < 500; batch += 25) {
      await Promise.all(
        Array.from({ length: 25 }, async (_, k) => {
          const n = batch + k;
          const answer = await post(n % 2 === 0 ? a : b, n);
          expect(answer.status, answer.error).toBe(202);
          ids.set(n, answer.deliveryId!);
        }),
      );
    }
    target = recorder(ids);
    await target.listen(targetPort);
    await until('the first deliveries', () => target!.seen.size >= 100, 30_000);
    a.process.kill('SIGKILL');
    await a.exited;
    // Killed in the middle of the work, not after it.
    expect(target.seen.size).toBeLessThan(500);
    await until('all 500 webhooks at the target', () => target!.seen.size === 500, 60_000);
    await until('in-flight requests to settle', () => target!.state.inFlight === 0, 10_000);
    expect(target.state.wrongIds).toBe(0);
    // Only what the killed instance had in flight may arrive twice (the global concurrency caps it).
    expect(target.duplicates()).toBeLessThanOrEqual(CONCURRENCY);
  });

  it('redis-server killed -9 and restarted (AOF always): every acknowledged webhook is delivered', {
    timeout: 120_000,
  }, async () => {
    redis = await startRedis();
    const targetPort = await refusedPort();
    const relay = await children.start(['start', '-c', config(redis.url, targetPort)]);
    const ids = new Map<number, string>();
    for (let n = 0; n < 200; n++) {
      const answer = await post(relay, n);
      expect(answer.status, answer.error).toBe(202);
      ids.set(n, answer.deliveryId!);
    }
    await redis.kill();
    await redis.restart();
    target = recorder(ids);
    await target.listen(targetPort);
    await until('all 200 webhooks at the target', () => target!.seen.size === 200, 60_000);
    expect(target.state.wrongIds).toBe(0);
  });

  it('Redis stopped during accepts: 503s with Retry-After, never a 202 for a webhook not stored; recovery after', {
    timeout: 120_000,
  }, async () => {
    redis = await startRedis();
    const targetPort = await refusedPort();
    const relay = await children.start(['start', '-c', config(redis.url, targetPort)]);
    const ids = new Map<number, string>();
    const refused: number[] = [];
    let n = 0;
    const send = async () => {
      const answer = await post(relay, n);
      if (answer.status === 202) ids.set(n, answer.deliveryId!);
      else {
        expect(answer.status, answer.error).toBe(503);
        expect(answer.error).toBe('HOOKRELAY_ERR_QUEUE_UNAVAILABLE');
        expect(answer.retryAfter).toBe('5');
        refused.push(n);
      }
      n++;
    };
    for (let i = 0; i < 20; i++) await send();
    await redis.kill();
    for (let i = 0; i < 20; i++) await send();
    expect(refused.length).toBeGreaterThan(0);
    const ready = await fetch(`${relay.url}/readyz`);
    expect(ready.status).toBe(503);
    await redis.restart();
    const deadline = Date.now() + 20_000;
    for (;;) {
      const answer = await post(relay, n);
      if (answer.status === 202) {
        ids.set(n++, answer.deliveryId!);
        break;
      }
      n++;
      if (Date.now() > deadline) throw new Error('the relay did not recover after Redis came back');
      await new Promise((r) => setTimeout(r, 200));
    }
    for (let i = 0; i < 20; i++) await send();
    target = recorder(ids);
    await target.listen(targetPort);
    await until(
      'every acknowledged webhook at the target',
      () => [...ids.keys()].every((k) => target!.seen.has(k)),
      60_000,
    );
    // What was refused was not stored: it never arrives.
    await new Promise((r) => setTimeout(r, 500));
    for (const k of refused) expect(target.seen.has(k)).toBe(false);
    expect((await fetch(`${relay.url}/readyz`)).status).toBe(200);
  });

  it('CLIENT KILL of every connection mid-load: each answer is 202 or 503, every 202 is delivered', {
    timeout: 120_000,
  }, async () => {
    redis = await startRedis();
    const targetPort = await refusedPort();
    const relay = await children.start(['start', '-c', config(redis.url, targetPort)]);
    const ids = new Map<number, string>();
    const answers: number[] = [];
    const load = (async () => {
      for (let batch = 0; batch < 300; batch += 10) {
        await Promise.all(
          Array.from({ length: 10 }, async (_, k) => {
            const answer = await post(relay, batch + k);
            answers.push(answer.status);
            if (answer.status === 202) ids.set(batch + k, answer.deliveryId!);
          }),
        );
      }
    })();
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 100));
      await redis.command('CLIENT', 'KILL', 'TYPE', 'normal');
    }
    await load;
    expect(answers.every((status) => status === 202 || status === 503)).toBe(true);
    expect(ids.size).toBeGreaterThan(0);
    target = recorder(ids);
    await target.listen(targetPort);
    await until(
      'every acknowledged webhook at the target',
      () => [...ids.keys()].every((k) => target!.seen.has(k)),
      60_000,
    );
    expect(target.state.wrongIds).toBe(0);
  });

  it('redis-server paused (SIGSTOP) past the lease and resumed: work continues, duplicates bounded', {
    timeout: 120_000,
  }, async () => {
    redis = await startRedis();
    const targetPort = await refusedPort();
    const file = config(redis.url, targetPort, '2s');
    const a = await children.start(['start', '-c', file]);
    const b = await children.start(['start', '-c', file]);
    const ids = new Map<number, string>();
    for (let n = 0; n < 200; n++) {
      const answer = await post(n % 2 === 0 ? a : b, n);
      expect(answer.status, answer.error).toBe(202);
      ids.set(n, answer.deliveryId!);
    }
    target = recorder(ids);
    await target.listen(targetPort);
    await until('the first deliveries', () => target!.seen.size >= 50, 30_000);
    redis.pause();
    await new Promise((r) => setTimeout(r, 3_000));
    redis.resume();
    await until('all 200 webhooks at the target', () => target!.seen.size === 200, 60_000);
    await until('in-flight requests to settle', () => target!.state.inFlight === 0, 10_000);
    expect(target.duplicates()).toBeLessThanOrEqual(2 * CONCURRENCY);
  });

  it('Redis at maxmemory (noeviction): 503, never a 202', { timeout: 60_000 }, async () => {
    redis = await startRedis({ settings: { maxmemory: '3mb' } });
    const targetPort = await refusedPort();
    const relay = await children.start(['start', '-c', config(redis.url, targetPort)]);
    let last = { status: 202 } as { status: number; error?: string };
    for (let n = 0; n < 2_000 && last.status === 202; n++) {
      const res = await fetch(`${relay.url}/in/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ n, pad: 'x'.repeat(16_000) }),
      });
      last = { ...((await res.json()) as { error?: string }), status: res.status };
    }
    expect(last).toMatchObject({ status: 503, error: 'HOOKRELAY_ERR_QUEUE_UNAVAILABLE' });
  });
});
