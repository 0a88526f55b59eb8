import type { RedisSettings } from '../../src/queue/redis-settings.ts';
import type { RedisServer } from '../support/redis-server.ts';

let prefixes = 0;

/** Settings for a driver on the test's redis-server, each call with a fresh key prefix (an empty queue). */
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
