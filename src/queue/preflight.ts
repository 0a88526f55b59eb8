/**
 * What a networked store is checked for before the relay takes traffic: Redis reachable, its
 * durability settings (warn naming each one, or refuse to start with `queue.redis.durability:
 * refuse`), and the routes' limits written where every instance reads them (global concurrency
 * and rate limit). Stores of one process (sqlite, memory) need nothing here.
 */
import type { Logger } from '../telemetry/log.ts';
import { LazyDriver } from './lazy.ts';
import type { QueueDriver, QueueSettings, RouteLimits } from './types.ts';

export class QueuePreflightError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueuePreflightError';
  }
}

export async function preflight(
  driver: QueueDriver,
  settings: QueueSettings,
  routes: { id: string; limits: RouteLimits }[],
  logger: Logger,
): Promise<void> {
  // A driver loaded on open (redis) is awaited here: its import failing fails the start.
  const opened = driver instanceof LazyDriver ? await driver.loaded() : driver;
  if (settings.driver === 'redis' && settings.redis) {
    const { durabilityOf } = await import('./redis-open.ts');
    const findings = await withTimeout(
      durabilityOf(opened).then((found) => found ?? []),
      settings.redis.connectTimeout + settings.redis.commandTimeout,
      'Redis did not answer at start (queue.redis.url unreachable or too slow)',
    );
    for (const finding of findings) {
      logger.warn(
        { queue: 'redis', setting: finding.setting, value: finding.value },
        `redis durability: ${finding.risk}`,
      );
    }
    if (findings.length > 0 && settings.redis.durability === 'refuse') {
      throw new QueuePreflightError(
        `queue.redis.durability is 'refuse' and Redis could lose acknowledged webhooks: ${findings
          .map((f) => `${f.setting}=${f.value}`)
          .join(
            ', ',
          )} (set appendonly yes, appendfsync always, maxmemory-policy noeviction; see docs/scale-out.md)`,
      );
    }
  }
  if (opened.configureRoute) {
    for (const route of routes) await opened.configureRoute(route.id, route.limits);
  }
}

async function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new QueuePreflightError(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
