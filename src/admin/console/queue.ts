/**
 * The queue as the console's screens use it: found through the deps (none until a route queues),
 * and the routes a replay woke, so their workers look again.
 */
import type { QueueDriver } from '../../queue/types.ts';
import { AdminError } from '../http.ts';
import type { ConsoleDeps } from './context.ts';

export function requireQueue(deps: ConsoleDeps): QueueDriver {
  const driver = deps.queue();
  if (!driver) {
    throw new AdminError('HOOKRELAY_ERR_ADMIN_NOT_FOUND', {
      reason: 'no queue: no route of the loaded configuration is async or hybrid',
    });
  }
  return driver;
}

/** `replayed 1 delivery`, `purged 12 deliveries`. */
export function counted(verb: string, n: number): string {
  return `${verb} ${n} ${n === 1 ? 'delivery' : 'deliveries'}`;
}
