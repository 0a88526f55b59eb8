import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisDriver, redisDurability } from '../../src/queue/redis.ts';
import { OPEN_SCAN_EVERY_CALL } from '../../src/queue/redis-jobs.ts';
import { connectionOptions, producerOptions, type RedisSettings } from '../../src/queue/redis-settings.ts';
import { DuplicateDelivery, type QueueDriver } from '../../src/queue/types.ts';
import { REDIS_SERVER, type RedisServer, startRedis } from '../support/redis-server.ts';
import { newDelivery } from './contract.ts';
import { settingsFor } from './redis-fixtures.ts';

const attempt = { at: 0, durationMs: 1, status: 200, error: undefined };

async function until(what: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('redis connection settings', () => {
  const base: RedisSettings = {
    url: 'redis://127.0.0.1:6379',
    prefix: 'hookrelay',
    commandTimeout: 500,
    connectTimeout: 1_000,
    waitReplicas: 0,
    waitTimeout: 100,
    durability: 'warn',
  };

  it('reads host, port, database and credentials from a redis:// url; settings win', () => {
    expect(connectionOptions({ ...base, url: 'redis://al%40x:s3cr%2Ft@cache.local:6380/2' })).toMatchObject({
      host: 'cache.local',
      port: 6380,
      db: 2,
      username: 'al@x',
      password: 's3cr/t',
    });
    expect(connectionOptions({ ...base, url: 'redis://u:p@h', password: 'other' })).toMatchObject({
      host: 'h',
      port: 6379,
      password: 'other',
    });
    expect(() => connectionOptions({ ...base, url: 'redis://h/x' })).toThrow(/database/);
    expect(() => connectionOptions({ ...base, url: 'http://h' })).toThrow(/redis:\/\//);
  });

  it('rediss:// turns TLS on with the PEM texts; unix:// is a socket path', () => {
    const tls = connectionOptions({
      ...base,
      url: 'rediss://cache.example:6390',
      tls: { ca: 'CA PEM', cert: 'CERT', key: 'KEY', rejectUnauthorized: false },
    });
    expect(tls.tls).toEqual({
      ca: 'CA PEM',
      cert: 'CERT',
      key: 'KEY',
      rejectUnauthorized: false,
      servername: 'cache.example',
    });
    expect(connectionOptions({ ...base, url: 'redis://h' }).tls).toBeUndefined();
    expect(connectionOptions({ ...base, url: 'unix:///run/redis/redis.sock' })).toMatchObject({
      path: '/run/redis/redis.sock',
    });
  });

  it('sentinels and masterName become ioredis sentinel options', () => {
    const options = connectionOptions({
      ...base,
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
      masterName: 'mymaster',
      sentinelPassword: 'sp',
    });
    expect(options).toMatchObject({
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
      name: 'mymaster',
      sentinelPassword: 'sp',
    });
    expect(options.host).toBeUndefined();
    expect(() => connectionOptions({ ...base, sentinels: [{ host: 's', port: 1 }] })).toThrow(/masterName/);
  });

  it('the producer fails fast: bounded retries and command time, no offline queue', () => {
    expect(producerOptions(base)).toMatchObject({
      maxRetriesPerRequest: 1,
      commandTimeout: 500,
      enableOfflineQueue: false,
    });
  });
});

describe.skipIf(REDIS_SERVER === undefined)('redis driver on a real redis-server', () => {
  let server: RedisServer;
  const open: QueueDriver[] = [];
  const extra: RedisServer[] = [];
  function driver(settings: RedisSettings, stalledIntervalMs = 100): RedisDriver {
    const d = new RedisDriver(settings, { stalledIntervalMs });
    open.push(d);
    return d;
  }
  beforeAll(async () => {
    server = await startRedis();
  });
  afterEach(async () => {
    for (const d of open.splice(0)) await d.close();
    for (const s of extra.splice(0)) await s.stop();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('connects over a unix socket', async () => {
    const unix = await startRedis({ unixSocket: true });
    extra.push(unix);
    expect(unix.url).toMatch(/^unix:\/\//);
    const q = driver(settingsFor(unix));
    const d = newDelivery();
    await q.enqueue(d);
    expect((await q.get(d.id))!.record.status).toBe('pending');
    expect(q.readiness()).toEqual({ ready: true, rebuilds: 0 });
  });

  it('a key prefix isolates two deployments on one Redis', async () => {
    const a = driver(settingsFor(server));
    const b = driver(settingsFor(server));
    const d = newDelivery();
    await a.enqueue(d);
    expect(await b.get(d.id)).toBeUndefined();
    expect(await b.list({})).toEqual([]);
    expect(await b.stats()).toEqual({ byRoute: {}, oldestPending: {} });
    expect(await b.lease('r1', 10, 30_000, Date.now())).toEqual([]);
    // the same id in the other deployment is another delivery
    await b.enqueue({ ...d, routeId: 'r1' });
    expect((await a.lease('r1', 10, 30_000, Date.now())).map((r) => r.id)).toEqual([d.id]);
    expect((await b.lease('r1', 10, 30_000, Date.now())).map((r) => r.id)).toEqual([d.id]);
  });

  it('stats of a large backlog: read job by job once, then counted by BullMQ with estimated bytes', async () => {
    const q = driver(settingsFor(server));
    const body = (n: number) => Buffer.alloc(n, 'x');
    const first = Array.from({ length: OPEN_SCAN_EVERY_CALL + 1 }, () =>
      newDelivery({ request: { method: 'POST', url: 'http://127.0.0.1:9/', headers: {}, body: body(100) } }),
    );
    for (let i = 0; i < first.length; i += 100)
      await Promise.all(first.slice(i, i + 100).map((d) => q.enqueue(d)));
    const exact = await q.stats();
    expect(exact.byRoute.r1!.pending).toEqual({ count: first.length, bytes: first.length * 100 });
    expect(exact.oldestPending.r1).toBe(Math.min(...first.map((d) => d.createdAt)));
    // ten more of twice the size: counted at once, their bytes estimated from the last read
    const more = Array.from({ length: 10 }, () =>
      newDelivery({ request: { method: 'POST', url: 'http://127.0.0.1:9/', headers: {}, body: body(200) } }),
    );
    await Promise.all(more.map((d) => q.enqueue(d)));
    const [leased] = await q.lease('r1', 1, 30_000, Date.now());
    const estimated = await q.stats();
    expect(estimated.byRoute.r1!.pending.count).toBe(first.length + more.length - 1);
    expect(estimated.byRoute.r1!.inflight.count).toBe(1);
    expect(estimated.byRoute.r1!.pending.bytes).toBe((first.length + more.length - 1) * 100);
    expect(estimated.byRoute.r1!.inflight.bytes).toBe(100);
    expect(estimated.oldestPending.r1).toBe(exact.oldestPending.r1);
    expect(leased).toBeDefined();
  });

  it('a lease that expires on instance A is leased by instance B (the stalled check), same delivery', async () => {
    const settings = settingsFor(server);
    const a = driver(settings);
    const b = driver({ ...settings });
    const d = newDelivery();
    await a.enqueue(d);
    expect((await a.lease('r1', 1, 300, Date.now())).map((r) => r.id)).toEqual([d.id]);
    // A "dies": it never reports. B finds the delivery once A's lease ran out, not before.
    expect(await b.lease('r1', 10, 5_000, Date.now())).toEqual([]);
    const start = Date.now();
    let leased: string[] = [];
    await until(async () => {
      leased = (await b.lease('r1', 10, 300, Date.now())).map((r) => r.id);
      return leased.length > 0;
    }, 1_800);
    expect(leased).toEqual([d.id]);
    expect(Date.now() - start).toBeLessThan(1_800);
    // Stalled again and again, it still comes back (never to the dead letters: maxStalledCount).
    for (let i = 0; i < 2; i++) {
      await until(async () => (await a.lease('r1', 10, 300, Date.now())).length > 0, 1_500);
    }
    await until(async () => (await b.lease('r1', 10, 5_000, Date.now())).length > 0, 1_500);
    expect((await b.list({ status: 'dead' })).length).toBe(0);
    // A's late result is dropped; B's counts
    await a.ack(d.id, { status: 200, response: 'late', attempt });
    expect((await b.get(d.id))!.record.status).toBe('inflight');
    await b.ack(d.id, { status: 201, response: 'ok', attempt });
    expect((await a.get(d.id))!.record).toMatchObject({ status: 'delivered', lastStatus: 201, attempts: 1 });
  }, 10_000);

  it('enqueue rejects fast while redis-server is down, and works again after it is back', async () => {
    const own = await startRedis();
    extra.push(own);
    const q = driver(settingsFor(own, { commandTimeout: 500 }));
    await q.enqueue(newDelivery());
    await own.kill();
    await until(() => !q.readiness().ready, 2_000);
    expect(q.readiness().reason).toMatch(/redis connection/);
    const started = Date.now();
    await expect(q.enqueue(newDelivery())).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(2_000);
    await own.restart();
    await until(() => q.readiness().ready, 5_000);
    const back = newDelivery();
    await q.enqueue(back);
    expect((await q.get(back.id))!.record.status).toBe('pending');
  }, 15_000);

  it('enqueue rejects within the command timeout while redis-server hangs (SIGSTOP)', async () => {
    const own = await startRedis();
    extra.push(own);
    const q = driver(settingsFor(own, { commandTimeout: 300 }));
    await q.enqueue(newDelivery());
    own.pause();
    try {
      const started = Date.now();
      await expect(q.enqueue(newDelivery())).rejects.toThrow(/timed out/i);
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      own.resume();
    }
  }, 10_000);

  it('every acknowledged enqueue survives a SIGKILL of redis-server (AOF always)', async () => {
    const own = await startRedis();
    extra.push(own);
    const q = driver(settingsFor(own));
    const all = Array.from({ length: 50 }, () => newDelivery());
    await Promise.all(all.map((d) => q.enqueue(d)));
    await own.kill();
    await own.restart();
    // Readiness may still read true from before the kill until the client notices the lost
    // connection: wait for a listing that succeeds, not for the flag.
    let listed: Awaited<ReturnType<typeof q.list>> = [];
    await until(async () => {
      try {
        listed = await q.list({ limit: 1_000 });
        return true;
      } catch {
        return false;
      }
    }, 5_000);
    expect(listed.map((r) => r.id).sort()).toEqual(all.map((d) => d.id).sort());
  }, 15_000);

  it('dedup holds across two instances', async () => {
    const settings = settingsFor(server);
    const a = driver(settings);
    const b = driver({ ...settings });
    const first = newDelivery({ createdAt: Date.now(), dedup: { key: 'evt-9', windowMs: 60_000 } });
    await a.enqueue(first);
    const error = await b
      .enqueue(newDelivery({ createdAt: Date.now(), dedup: { key: 'evt-9', windowMs: 60_000 } }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DuplicateDelivery);
    expect((error as DuplicateDelivery).existingId).toBe(first.id);
  });

  it('a failed write forgets the dedup key, so the retry gets through', async () => {
    const settings = settingsFor(server);
    const q = driver(settings);
    const d = newDelivery({ createdAt: Date.now(), dedup: { key: 'evt-r', windowMs: 60_000 } });
    // an id already stored makes the write fail before the dedup key is claimed
    await q.enqueue(newDelivery({ id: d.id }));
    await expect(q.enqueue(d)).rejects.toThrow(/already exists/);
    await q.enqueue({ ...d, id: `${d.id}-2` });
  });

  it('global concurrency holds across two instances', async () => {
    const settings = settingsFor(server);
    const a = driver(settings);
    const b = driver({ ...settings });
    await a.configureRoute('r1', { concurrency: 1 });
    const x = newDelivery();
    const y = newDelivery();
    await a.enqueue(x);
    await a.enqueue(y);
    expect((await a.lease('r1', 10, 30_000, Date.now())).map((r) => r.id)).toEqual([x.id]);
    expect(await b.lease('r1', 10, 30_000, Date.now())).toEqual([]);
    await a.ack(x.id, { status: 200, response: undefined, attempt });
    expect((await b.lease('r1', 10, 30_000, Date.now())).map((r) => r.id)).toEqual([y.id]);
    await a.configureRoute('r1', {});
  });

  it('a global rate limit holds across two instances', async () => {
    const settings = settingsFor(server);
    const a = driver(settings);
    const b = driver({ ...settings });
    await a.configureRoute('r1', { rateLimit: 1 });
    for (let i = 0; i < 3; i++) await a.enqueue(newDelivery());
    expect(await a.lease('r1', 10, 30_000, Date.now())).toHaveLength(1);
    expect(await b.lease('r1', 10, 30_000, Date.now())).toEqual([]);
    expect(await a.lease('r1', 10, 30_000, Date.now())).toEqual([]);
  });

  it('rejects an enqueue that fewer replicas than waitReplicas acknowledged', async () => {
    const q = driver(settingsFor(server, { waitReplicas: 1, waitTimeout: 50 }));
    await expect(q.enqueue(newDelivery())).rejects.toThrow(/0 of 1 redis replicas/);
  });

  it('durability: no findings with AOF always and noeviction', async () => {
    const q = driver(settingsFor(server));
    await q.stats();
    expect(await redisDurability(q.client)).toEqual([]);
  });

  it('durability: findings for everysec and an evicting policy', async () => {
    const risky = await startRedis({
      settings: { appendfsync: 'everysec', 'maxmemory-policy': 'allkeys-lru' },
    });
    extra.push(risky);
    const q = driver(settingsFor(risky));
    await q.stats();
    const findings = await redisDurability(q.client);
    expect(findings.map((f) => [f.setting, f.value])).toEqual([
      ['appendfsync', 'everysec'],
      ['maxmemory-policy', 'allkeys-lru'],
    ]);
    expect(findings[0]!.risk).toMatch(/lost/);
  });

  it('durability: a Redis refusing CONFIG (a managed one) is one finding saying so', async () => {
    await server.command('ACL', 'SETUSER', 'app', 'on', '>app-pw', '~*', '&*', '+@all', '-config');
    const q = driver(settingsFor(server, { username: 'app', password: 'app-pw' }));
    await q.stats();
    const findings = await redisDurability(q.client);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ setting: 'CONFIG', value: 'unavailable' });
    expect(findings[0]!.risk).toMatch(/could not be read/);
  });
});
