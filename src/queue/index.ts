import type { Config } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import { MemoryDriver } from './memory.ts';
import { SqliteDriver } from './sqlite.ts';
import type { QueueDriver } from './types.ts';

export type { QueueDriver } from './types.ts';
export { DuplicateDelivery } from './types.ts';

/** Opens the queue store the config names. The sqlite driver creates its file (and folder). */
export function createDriver(config: Config['queue'], logger: Logger): QueueDriver {
  switch (config.driver) {
    case 'memory':
      logger.warn(
        { queue: 'memory' },
        'queue driver "memory": deliveries are kept in this process only and NOTHING SURVIVES A RESTART — use it for tests and trials, never in production',
      );
      return new MemoryDriver({ keepAttempts: config.keepAttempts });
    case 'sqlite': {
      const driver = new SqliteDriver(config.path, { keepAttempts: config.keepAttempts });
      logger.info({ queue: 'sqlite', path: config.path }, 'queue opened');
      return driver;
    }
  }
}
