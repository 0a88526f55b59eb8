import { afterAll, beforeAll, describe } from 'vitest';
import { RedisDriver } from '../../src/queue/redis.ts';
import type { RedisSettings } from '../../src/queue/redis-settings.ts';
import { REDIS_SERVER, type RedisServer, startRedis } from '../support/redis-server.ts';
import { driverContract } from './contract.ts';

let prefixes = 0;

export function settingsFor(server: RedisServer, overrides: Partial<RedisSettings> = {}): RedisSettings {
  prefixes += 1;
  return {
    url: server.url,
    prefix: `t${process.pid}-${prefixes}`,
    commandTimeout: 1_000,
    connectTimeout: 2_000,
    waitReplicas: 0,
    waitTimeout: 100,
    durability: 'warn',
    ...overrides,
  };
}

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
