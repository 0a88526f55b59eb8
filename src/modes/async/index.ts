/**
 * `delivery: async`: the webhook is stored durably and the caller acknowledged at once (202 or the
 * route's `respond`); the queue's workers deliver it with patient retries, dead letters and replay
 * (docs/queue.md). Only what is ready to send is stored, never the configuration's secrets.
 */
import { compileTemplate } from '../../core/text-template.ts';
import type { Call } from '../../pipeline/call.ts';
import type { RouteParts } from '../../pipeline/route.ts';
import { bufferedRoute } from '../buffered.ts';
import { acceptFanout } from '../fanout/async.ts';
import { compileFanout } from '../fanout/targets.ts';
import { has, issue, type ModeDefinition, type RouteInput } from '../types.ts';
import { acceptCall } from './accept.ts';
import type { AsyncRoute, CompiledDedup, QueuedRoute } from './route.ts';
import { QUEUED_KEYS, ROUTE_QUEUE_DEFAULTS, type RouteDedup, type RouteQueue } from './schema.ts';

export type { AsyncRoute, QueuedRoute } from './route.ts';

export const asyncMode = {
  type: 'async',
  selector: 'delivery',
  description:
    '`async`: the webhook is stored durably, the caller gets 202 (or `respond`) at once, workers deliver it.',
  keys: QUEUED_KEYS,
  check(route, ctx) {
    checkDedup(route, ctx);
    if (has(route, 'stream')) issue(ctx, ['stream'], 'only applies to `delivery: stream`');
    const refuse = (path: string[], why: string) =>
      issue(ctx, path, `does not apply to \`delivery: async\` (${why})`);
    const nobody = 'nobody waits for a queued delivery';
    const retry: [string, string][] = [
      ['attempts', `${nobody}: use \`queue.maxAttempts\`; \`queue.maxAge\` bounds it too`],
      ['minDelay', 'queued retries back off from `queue.minDelay`: use that'],
      ['maxDelay', 'queued retries back off up to `queue.maxDelay`: use that'],
      ['maxRetryAfter', 'use `queue.maxRetryAfter`'],
    ];
    for (const [key, why] of retry) if (has(route, 'retry', key)) refuse(['retry', key], why);
    if (has(route, 'timeouts', 'deadline')) {
      refuse(
        ['timeouts', 'deadline'],
        `${nobody}: \`queue.maxAge\` bounds how long it is retried, \`timeouts.attempt\` each attempt`,
      );
    }
    if (has(route, 'response')) {
      refuse(
        ['response'],
        "the caller is answered before the target is called, so the target's answer reaches nobody; `respond` sets the caller's answer",
      );
    }
    if (has(route, 'hybrid')) issue(ctx, ['hybrid'], 'only applies to `delivery: hybrid`');
  },
  compile(parts, route): AsyncRoute {
    const queued = queuedRoute(parts, route, 'async');
    return { ...queued, delivery: 'async', fanout: compileFanout(parts, queued) };
  },
  queued: true,
  start(_routes, services) {
    return {
      takes: 'prepared',
      async handle(call, message, prepared) {
        // The lifecycle hands this mode only calls of its own routes, compiled by `compile` above.
        const async = call as Call<AsyncRoute>;
        const { fanout } = async.route;
        if (fanout) await acceptFanout(async, fanout, message, prepared, services);
        else await acceptCall(async, message, prepared, services);
      },
    };
  },
} satisfies ModeDefinition;

/** `dedup` takes exactly one way of finding the id (shared with hybrid). */
export function checkDedup(route: RouteInput, ctx: Parameters<ModeDefinition['check']>[1]): void {
  const dedup = route.dedup as { header?: unknown; field?: unknown } | undefined;
  if (dedup && typeof dedup === 'object' && !dedup.header === !dedup.field) {
    issue(ctx, ['dedup'], 'needs exactly one of `header` or `field`');
  }
}

/** The parts of a queued route (async, hybrid): the buffered ones, the queue settings, dedup. */
export function queuedRoute(parts: RouteParts, route: RouteInput, delivery: string): QueuedRoute {
  const queue = (route.queue as RouteQueue | undefined) ?? ROUTE_QUEUE_DEFAULTS;
  const dedup = route.dedup as RouteDedup | undefined;
  return {
    ...bufferedRoute(parts, delivery),
    queue,
    dedup: dedup ? compileDedup(dedup) : undefined,
  };
}

function compileDedup(dedup: RouteDedup): CompiledDedup {
  return {
    header: dedup.header?.toLowerCase(),
    field: dedup.field ? compileTemplate(`{{ body.${dedup.field} }}`) : undefined,
    windowMs: dedup.window,
  };
}
