import { createServer, type Server, Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisDriver } from '../../src/queue/redis.ts';
import { producerOptions } from '../../src/queue/redis-settings.ts';
import { Watchdog } from '../../src/queue/redis-watchdog.ts';
import { REDIS_SERVER, type RedisServer, startRedis } from '../support/redis-server.ts';
import { newDelivery } from './contract.ts';
import { settingsFor } from './redis-fixtures.ts';

/**
 * The redis driver's watchdog against the failures BullMQ users meet after a Redis restart or
 * failover: a connection that stays open but never answers again (here: a real TCP proxy in
 * front of a real redis-server that stops forwarding on the connections it holds, as a dropped
 * NAT or a half-open socket does), and a stalled-job check that no longer runs.
 */

/** A TCP proxy to redis-server; `freeze()` stops forwarding on every connection open now. */
async function proxyTo(port: number) {
  const pairs: [Socket, Socket][] = [];
  let frozen = 0;
  const server: Server = createServer((client) => {
    const upstream = new Socket();
    upstream.connect(port, '127.0.0.1');
    client.pipe(upstream);
    upstream.pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
    pairs.push([client, upstream]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxyPort = (server.address() as { port: number }).port;
  return {
    url: `redis://127.0.0.1:${proxyPort}`,
    /** The sockets stay open; nothing more passes either way (what a silent network does). */
    freeze() {
      for (const [client, upstream] of pairs.slice(frozen)) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
      frozen = pairs.length;
    },
    get frozen() {
      return frozen;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const [client, upstream] of pairs.splice(0)) {
          client.destroy();
          upstream.destroy();
        }
        server.close(() => resolve());
      }),
  };
}

async function until(what: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const ok = { at: 0, durationMs: 1, status: 200, error: undefined };

describe.skipIf(REDIS_SERVER === undefined)('redis driver watchdog', () => {
  let redis: RedisServer | undefined;
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const undo of cleanup.splice(0).reverse()) await undo();
    await redis?.stop();
    redis = undefined;
  });

  it('connections that stay open but never answer are rebuilt; leases, acks and enqueues work again', {
    timeout: 30_000,
  }, async () => {
    redis = await startRedis();
    const proxy = await proxyTo(redis.port!);
    cleanup.push(proxy.close);
    const rebuilt: string[] = [];
    const driver = new RedisDriver(
      settingsFor(redis, { url: proxy.url, commandTimeout: 300, connectTimeout: 1_000 }),
      {
        stalledIntervalMs: 500,
        watchdogIntervalMs: 200,
        onRebuild: (what) => rebuilt.push(what),
      },
    );
    cleanup.push(() => driver.close());
    const first = newDelivery();
    await driver.enqueue(first);
    expect((await driver.lease('r1', 1, 10_000, Date.now())).map((r) => r.id)).toEqual([first.id]);
    expect(driver.readiness()).toEqual({ ready: true, rebuilds: 0 });

    proxy.freeze();
    // Without the watchdog these would wait for ever: the sockets are open, ioredis sees no error.
    const stuckLease = driver.lease('r1', 1, 10_000, Date.now()).then(
      () => 'resolved',
      () => 'rejected',
    );
    await until(() => !driver.readiness().ready, 5_000);
    expect(rebuilt).toEqual(expect.arrayContaining(['producer connection', 'worker connection']));
    await until(() => driver.readiness().ready, 10_000);
    expect(await stuckLease).toMatch(/resolved|rejected/);
    expect(driver.readiness().rebuilds).toBeGreaterThanOrEqual(2);

    // The lease taken before the freeze is still ours (the lock lives in Redis): its ack lands.
    await driver.ack(first.id, { status: 200, response: 'ok', attempt: ok });
    expect((await driver.get(first.id))!.record.status).toBe('delivered');
    const second = newDelivery();
    await driver.enqueue(second);
    expect((await driver.lease('r1', 1, 10_000, Date.now())).map((r) => r.id)).toEqual([second.id]);
  });

  it('Redis paused (SIGSTOP): unready while it does not answer, ready and writable again once it resumes', {
    timeout: 30_000,
  }, async () => {
    redis = await startRedis();
    const driver = new RedisDriver(settingsFor(redis, { commandTimeout: 300, connectTimeout: 500 }), {
      stalledIntervalMs: 500,
      watchdogIntervalMs: 200,
    });
    cleanup.push(() => driver.close());
    await driver.enqueue(newDelivery());
    await driver.watchdogCheck();
    expect(driver.readiness().ready).toBe(true);
    redis.pause();
    await until(() => !driver.readiness().ready, 5_000);
    redis.resume();
    await until(() => driver.readiness().ready, 10_000);
    const d = newDelivery();
    await driver.enqueue(d);
    expect((await driver.get(d.id))!.record.status).toBe('pending');
  });
});

describe.skipIf(REDIS_SERVER === undefined)('watchdog: stalled-job checks', () => {
  let redis: RedisServer | undefined;
  afterEach(async () => {
    await redis?.stop();
    redis = undefined;
  });

  it('restarts the checks when a job stays active without a lock past the bound, not before', async () => {
    redis = await startRedis();
    const client = new Redis(producerOptions(settingsFor(redis)));
    try {
      let unlocked: string[] = ['job-1'];
      const restarts: number[] = [];
      const rebuilt: string[] = [];
      const watchdog = new Watchdog({
        intervalMs: 60_000,
        probeTimeoutMs: 1_000,
        stalledAfterMs: 300,
        connections: () => [{ name: 'producer connection', client }],
        unlocked: async () => unlocked,
        restartStalledChecks: async () => {
          restarts.push(Date.now());
        },
        onRebuild: (what) => rebuilt.push(what),
      });
      await watchdog.check();
      expect(restarts).toHaveLength(0);
      // Recovered in time (another instance's check moved it): forgotten, never restarted.
      unlocked = [];
      await new Promise((r) => setTimeout(r, 350));
      await watchdog.check();
      unlocked = ['job-1'];
      await watchdog.check();
      expect(restarts).toHaveLength(0);
      await new Promise((r) => setTimeout(r, 350));
      await watchdog.check();
      expect(restarts).toHaveLength(1);
      expect(rebuilt).toEqual(['stalled checks']);
      expect(watchdog.state).toEqual({ ready: true, rebuilds: 1 });
      // Counted again from now: the restarted checks get their own time to move it.
      await watchdog.check();
      expect(restarts).toHaveLength(1);
    } finally {
      client.disconnect();
    }
  });
});
