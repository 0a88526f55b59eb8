import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisDriver } from '../../src/queue/redis.ts';
import { producerOptions } from '../../src/queue/redis-settings.ts';
import type { QueueDriver } from '../../src/queue/types.ts';
import { REDIS_SERVER, type RedisServer, startRedis } from '../support/redis-server.ts';
import { storedRecord } from './contract.ts';
import { settingsFor } from './redis-fixtures.ts';

/**
 * The redis driver's restore beyond the shared contract: where the jobs end in BullMQ, a restore
 * stopped half-way redone by the next one, and the replicas' WAIT.
 */
describe.skipIf(REDIS_SERVER === undefined)('redis restore', () => {
  let server: RedisServer;
  const open: QueueDriver[] = [];
  beforeAll(async () => {
    server = await startRedis();
  });
  afterEach(async () => {
    for (const d of open.splice(0)) await d.close();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('puts dead jobs in the failed set, delivered in completed, pending in delayed', async () => {
    const settings = settingsFor(server);
    const q = new RedisDriver(settings);
    open.push(q);
    const t = Date.now() - 10_000;
    const dead = storedRecord({
      status: 'dead',
      createdAt: t,
      attempts: 2,
      lastError: 'max attempts (2) reached',
    });
    const delivered = storedRecord({ status: 'delivered', createdAt: t + 1, attempts: 1, lastStatus: 200 });
    const pending = storedRecord({ createdAt: t + 2 });
    for (const r of [dead, delivered, pending]) expect(await q.restore(r, [])).toBe('restored');
    const key = (set: string) => `${settings.prefix}:r1:${set}`;
    expect(await server.command('ZRANGE', key('failed'), '0', '-1')).toBe(dead.id);
    expect(await server.command('HGET', `${key('')}${dead.id}`, 'failedReason')).toBe(
      'max attempts (2) reached',
    );
    expect(await server.command('ZRANGE', key('completed'), '0', '-1')).toBe(delivered.id);
    expect(await server.command('ZRANGE', key('delayed'), '0', '-1')).toBe(pending.id);
    expect(await server.command('LLEN', key('active'))).toBe('0');
    expect(await server.command('HGET', `${settings.prefix}:route-of`, dead.id)).toBe('r1');
    expect(await server.command('SMEMBERS', `${settings.prefix}:routes`)).toBe('r1');
  });

  it('a job left without its claim (a restore stopped half-way) is written again', async () => {
    const settings = settingsFor(server);
    const q = new RedisDriver(settings);
    open.push(q);
    const record = storedRecord({ status: 'dead', attempts: 1, lastError: 'gone' });
    const client = new Redis(producerOptions(settings));
    const queue = new Queue('r1', { connection: client, prefix: settings.prefix });
    try {
      await queue.add('delivery', { half: true } as never, { jobId: record.id, delay: 60_000 });
    } finally {
      await queue.close();
      client.disconnect();
    }
    expect(await q.get(record.id)).toBeUndefined();
    expect(await q.restore(record, [])).toBe('restored');
    expect((await q.get(record.id))!.record).toMatchObject({
      status: 'dead',
      lastError: 'gone',
      attempts: 1,
    });
    expect(await server.command('ZCARD', `${settings.prefix}:r1:delayed`)).toBe('0');
    expect(await q.restore(record, [])).toBe('exists');
  });

  it('waits for queue.redis.waitReplicas like enqueue: rejects when too few acknowledged', async () => {
    const q = new RedisDriver(settingsFor(server, { waitReplicas: 1, waitTimeout: 50 }));
    open.push(q);
    await expect(q.restore(storedRecord(), [])).rejects.toThrow(/only 0 of 1 redis replicas/);
  });
});
