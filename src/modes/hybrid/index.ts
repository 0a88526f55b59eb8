/**
 * `delivery: hybrid`: sync, then async. The caller waits for a synchronous delivery within
 * `hybrid.budget`; when that runs out (or fails in a way worth retrying), the webhook is handed to
 * the queue with the attempts already made and the caller is acknowledged as by an async route.
 * The delivery id travels on the synchronous attempts too, so a target that saw one of them can
 * drop the queued retry that follows.
 */
import { z } from 'zod';
import { duration } from '../../core/fields.ts';
import { firstQueuedAttemptAt } from '../../delivery/policy.ts';
import type { Call } from '../../pipeline/call.ts';
import { newDeliveryId } from '../../queue/ids.ts';
import { acceptCall } from '../async/accept.ts';
import { checkDedup, queuedRoute } from '../async/index.ts';
import type { QueuedRoute } from '../async/route.ts';
import { QUEUED_KEYS } from '../async/schema.ts';
import { answer } from '../sync/answer.ts';
import { deliverNow } from '../sync/deliver.ts';
import type { AnsweringRoute } from '../sync/route.ts';
import { has, issue, type ModeDefinition } from '../types.ts';

const hybridKey = z
  .strictObject({
    budget: duration(
      'How long the caller may wait for a synchronous delivery before it is queued.',
      '3s',
    ).default(3_000),
  })
  .optional()
  .meta({ description: 'Options of `delivery: hybrid`.' });

/** A `delivery: hybrid` route: answered like a sync route when delivered within the budget, else queued. */
export interface HybridRoute extends QueuedRoute, AnsweringRoute {
  delivery: 'hybrid';
  /** How long the caller may wait for the synchronous delivery, ms. */
  hybridBudget: number;
}

export const hybridMode = {
  type: 'hybrid',
  selector: 'delivery',
  description: '`hybrid`: try synchronously within `hybrid.budget`, else store it and acknowledge.',
  keys: { hybrid: hybridKey, ...QUEUED_KEYS },
  check(route, ctx) {
    checkDedup(route, ctx);
    if (has(route, 'stream')) issue(ctx, ['stream'], 'only applies to `delivery: stream`');
    if (has(route, 'timeouts', 'deadline')) {
      issue(
        ctx,
        ['timeouts', 'deadline'],
        'does not apply to `delivery: hybrid` (the caller waits at most `hybrid.budget`, then the webhook is queued: use that)',
      );
    }
  },
  compile(parts, route): HybridRoute {
    const hybrid = route.hybrid as z.output<typeof hybridKey>;
    return {
      ...queuedRoute(parts, route, 'hybrid'),
      delivery: 'hybrid',
      responseTransform: parts.responseTransform,
      hybridBudget: hybrid?.budget ?? 3_000,
    };
  },
  queued: true,
  start(_routes, services) {
    return {
      takes: 'prepared',
      async handle(call, message, prepared) {
        // The lifecycle hands this mode only calls of its own routes, compiled by `compile` above.
        const hybrid = call as Call<HybridRoute>;
        const { route } = hybrid;
        const deliveryId = newDeliveryId();
        for (const name of route.queue.idHeaders) prepared.outbound.headers[name.toLowerCase()] = deliveryId;
        const budget = route.hybridBudget;
        const outcome = await deliverNow(hybrid, prepared, services.clients, {
          id: deliveryId,
          timeouts: { attempt: Math.min(route.timeouts.attempt, budget), deadline: budget },
        });
        const handOff =
          (outcome.result === 'failed' || outcome.result === 'deadline') &&
          outcome.error?.retryable !== false;
        if (!handOff) {
          await answer(hybrid, message, outcome, prepared.value);
          return;
        }
        // Not delivered within the budget, but retryable: hand it to the queue and acknowledge. The
        // first queued attempt is scheduled as a worker would schedule it after these attempts.
        const nextAttemptAt = firstQueuedAttemptAt(route, outcome);
        await acceptCall(hybrid, message, prepared, services, {
          deliveryId,
          attempts: outcome.attempts,
          nextAttemptAt,
        });
      },
    };
  },
} satisfies ModeDefinition;
