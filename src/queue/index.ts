/**
 * The queue drivers, one registry line each. A driver implements
 * the contract in types.ts and passes the shared contract suite (test/queue/contract.ts).
 */
import { createLookup } from '../core/registry.ts';
import type { Logger } from '../telemetry/log.ts';
import type { SharedReplayStore } from '../verifiers/replay.ts';
import { LazyDriver, LazyReplayStore } from './lazy.ts';
import { MemoryDriver } from './memory.ts';
import { SqliteDriver } from './sqlite.ts';
import type { QueueDriver, QueueSettings } from './types.ts';

export type { QueueDriver } from './types.ts';
export { DuplicateDelivery } from './types.ts';

export interface DriverFactory {
  type: string;
  /** One sentence for the reference of `queue.driver`. */
  description: string;
  /** Opens the store the settings name. */
  open(settings: QueueSettings, logger: Logger): QueueDriver;
  /**
   * A driver whose store every instance shares also keeps the verifiers' replay windows there,
   * so a replay sent to another instance is refused too; without it each process keeps its own.
   */
  replayStore?(settings: QueueSettings): SharedReplayStore;
}

const memory: DriverFactory = {
  type: 'memory',
  description: 'tests and trials only, nothing survives a restart.',
  open(settings, logger) {
    logger.warn(
      { queue: 'memory' },
      'queue driver "memory": deliveries are kept in this process only and NOTHING SURVIVES A RESTART — use it for tests and trials, never in production',
    );
    return new MemoryDriver({ keepAttempts: settings.keepAttempts });
  },
};

const sqlite: DriverFactory = {
  type: 'sqlite',
  description: 'durable, one file (node:sqlite, WAL).',
  /** Creates its file (and folder). */
  open(settings, logger) {
    const driver = new SqliteDriver(settings.path, { keepAttempts: settings.keepAttempts });
    logger.info({ queue: 'sqlite', path: settings.path }, 'queue opened');
    return driver;
  },
};

// BullMQ and ioredis load only when a configuration names this driver (redis-open.ts, lazy.ts).
const loadRedis = () => import('./redis-open.ts');

const redis: DriverFactory = {
  type: 'redis',
  description:
    'durable, shared by every instance (BullMQ on Redis: AOF with appendfsync always, noeviction).',
  open(settings, logger) {
    const options = settings.redis;
    if (options === undefined)
      throw new Error("queue driver 'redis' needs the queue.redis settings (url, prefix, …)");
    return new LazyDriver(
      'redis',
      loadRedis().then((m) => m.openRedisDriver(settings, options, logger)),
    );
  },
  replayStore(settings) {
    const options = settings.redis;
    if (options === undefined)
      throw new Error("queue driver 'redis' needs the queue.redis settings (url, prefix, …)");
    return new LazyReplayStore(loadRedis().then((m) => m.openRedisReplayStore(options)));
  },
};

export const DRIVERS = createLookup<DriverFactory>('queue driver', [sqlite, memory, redis]);

/** The replay store the configured driver shares between instances, if it has one. */
export function createReplayStore(settings: QueueSettings): SharedReplayStore | undefined {
  return DRIVERS.get(settings.driver).replayStore?.(settings);
}

export function createDriver(settings: QueueSettings, logger: Logger): QueueDriver {
  return DRIVERS.get(settings.driver).open(settings, logger);
}
