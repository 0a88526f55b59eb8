/**
 * Opening the redis driver and its shared replay store: the one module that brings BullMQ and
 * ioredis in. index.ts imports it only when a configuration names `queue.driver: redis`, so a
 * relay on sqlite, memory or no queue at all never loads them (about 260 modules, ~25 MB RSS and
 * ~130 ms of start, docs/performance.md).
 */
import type { Logger } from '../telemetry/log.ts';
import type { SharedReplayStore } from '../verifiers/replay.ts';
import { RedisDriver } from './redis.ts';
import { type DurabilityFinding, redisDurability } from './redis-durability.ts';
import { RedisReplayStore } from './redis-replay.ts';
import type { RedisSettings } from './redis-settings.ts';
import type { QueueDriver, QueueSettings } from './types.ts';

export function openRedisDriver(settings: QueueSettings, redis: RedisSettings, logger: Logger): QueueDriver {
  const driver = new RedisDriver(redis, {
    keepAttempts: settings.keepAttempts,
    onRebuild: (what, reason) =>
      logger.warn({ queue: 'redis', what, reason }, 'queue watchdog rebuilt a redis connection or check'),
  });
  logger.info({ queue: 'redis', prefix: redis.prefix }, 'queue opened');
  return driver;
}

export function openRedisReplayStore(redis: RedisSettings): SharedReplayStore {
  return new RedisReplayStore(redis);
}

/** Reads the durability settings of the driver's Redis (waiting once for its connection). */
export async function durabilityOf(driver: QueueDriver): Promise<DurabilityFinding[] | undefined> {
  if (!(driver instanceof RedisDriver)) return undefined;
  const client = driver.client;
  // The connection fails fast (no offline queue): wait for it once before reading CONFIG.
  if (client.status !== 'ready') await new Promise<void>((resolve) => client.once('ready', resolve));
  return redisDurability(client);
}
