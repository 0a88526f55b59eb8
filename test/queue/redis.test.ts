import { afterAll, beforeAll, describe } from 'vitest';
import { RedisDriver } from '../../src/queue/redis.ts';
import { REDIS_SERVER, type RedisServer, startRedis } from '../support/redis-server.ts';
import { driverContract } from './contract.ts';
import { settingsFor } from './redis-fixtures.ts';

describe.skipIf(REDIS_SERVER === undefined)('redis driver', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server?.stop();
  });

  driverContract(
    'redis',
    (options) => new RedisDriver(settingsFor(server), { ...options, stalledIntervalMs: 100 }),
    { realClock: true },
  );
});
