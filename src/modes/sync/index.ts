/**
 * `delivery: sync` (the default): the caller waits while hookrelay delivers, with retries within
 * `timeouts.deadline`, and gets the target's answer, the route's `respond` block, or a JSON error.
 */

import type { Call } from '../../pipeline/call.ts';
import { checkDedup, queuedRoute } from '../async/index.ts';
import { bufferedRoute } from '../buffered.ts';
import { deliverFanout } from '../fanout/sync.ts';
import { compileFanout } from '../fanout/targets.ts';
import { has, issue, type ModeDefinition, type ModeServices } from '../types.ts';
import { answer } from './answer.ts';
import { deliverNow } from './deliver.ts';
import type { SyncRoute } from './route.ts';

export type { SyncRoute } from './route.ts';

export const syncMode = {
  type: 'sync',
  selector: 'delivery',
  description: '`sync`: the caller waits for the target and gets its answer.',
  keys: {},
  check(route, ctx) {
    // A fan-out route queues the targets that do not answer: `queue` and `dedup` apply to them.
    const fansOut = has(route, 'targets');
    if (has(route, 'dedup') && !fansOut) {
      issue(ctx, ['dedup'], 'needs `delivery: async` or `hybrid` (ids are kept in the queue store)');
    }
    if (has(route, 'dedup') && fansOut) checkDedup(route, ctx);
    if (has(route, 'stream')) issue(ctx, ['stream'], 'only applies to `delivery: stream`');
    if (has(route, 'queue') && !fansOut) {
      issue(
        ctx,
        ['queue'],
        'does not apply to `delivery: sync` (nothing is queued: set `delivery: async` or `hybrid`)',
      );
    }
    if (has(route, 'hybrid')) issue(ctx, ['hybrid'], 'only applies to `delivery: hybrid`');
  },
  compile(parts, route): SyncRoute {
    return {
      ...bufferedRoute(parts, 'sync'),
      responseTransform: parts.responseTransform,
      timeouts: parts.timeouts,
      // Its targets' queued copies start from the route's `queue` and `dedup` settings.
      fanout: parts.targets ? compileFanout(parts, queuedRoute(parts, route, 'async')) : undefined,
    };
  },
  queued: false,
  start(_routes, services: ModeServices) {
    return {
      takes: 'prepared',
      async handle(call, message, prepared) {
        // The lifecycle hands this mode only calls of its own routes, compiled by `compile` above.
        const sync = call as Call<SyncRoute>;
        const { fanout } = sync.route;
        if (fanout) return deliverFanout(sync, fanout, message, prepared, services);
        const outcome = await deliverNow(sync, prepared, services.clients, {
          id: call.requestId,
          timeouts: sync.route.timeouts,
        });
        return answer(sync, message, outcome, prepared.value);
      },
    };
  },
} satisfies ModeDefinition;
