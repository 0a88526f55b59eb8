/**
 * Fan-out (docs/routing.md#fan-out): a route with `targets` instead of `forward`. Each target is
 * compiled into a queued route of its own, id `<route>/<target>` (a route id cannot hold `/`, so
 * it never collides with another route's), which the app registers with the queue and the
 * workers like any queued route: its own deliveries, attempts, backoff, dead letters, replay,
 * dedup window and metrics label. The route's handler (async.ts, sync.ts) picks the targets of a
 * call, prepares each one's request and stores (or, for a sync route's primary, delivers) it.
 */
import type { Condition } from '../../pipeline/conditions.ts';
import type { RouteParts } from '../../pipeline/route.ts';
import type { CompiledStep } from '../../transforms/run.ts';
import type { QueuedRoute } from '../async/route.ts';

/** The separator of a target's route id: `orders/erp`. */
export const TARGET_SEPARATOR = '/';

export interface FanoutTarget {
  name: string;
  /** Undefined: always chosen. */
  when: Condition | undefined;
  /** Its own steps, run after the route's on their result. */
  transform: readonly CompiledStep[];
  /**
   * The target as a queued route (id `<route>/<name>`, its forward, retry and queue settings over
   * the route's, the route's dedup): what its copies are stored and delivered as. A sync route's
   * primary is never queued, but answers with this target's forward and retry all the same.
   */
  queued: QueuedRoute;
}

export interface Fanout {
  targets: readonly FanoutTarget[];
  /** Index of the target that answers a sync route's caller (`primary: true`, else the first). */
  primary: number;
}

/**
 * The route's targets, or undefined when it has a `forward` block. `base`: the route as a queued
 * route (its queue settings and dedup), which every target's copies start from.
 */
export function compileFanout(parts: RouteParts, base: QueuedRoute): Fanout | undefined {
  if (!parts.targets) return undefined;
  const primary = primaryOf(parts);
  const targets = parts.targets.map((t): FanoutTarget => {
    const own = Object.fromEntries(Object.entries(t.queue ?? {}).filter(([, v]) => v !== undefined));
    return {
      name: t.name,
      when: t.when,
      transform: t.transform,
      queued: {
        ...base,
        id: `${parts.id}${TARGET_SEPARATOR}${t.name}`,
        forward: t.forward,
        transform: t.transform,
        configHeaders: t.configHeaders,
        // A copy's caller was answered by the route: nothing of the route's answer applies to it.
        respond: undefined,
        rules: [],
        retry: t.retry,
        queue: { ...base.queue, ...own },
      },
    };
  });
  return { targets, primary };
}

/** The index of the target that answers a sync route's caller: `primary: true`, else the first. */
export function primaryOf(parts: Pick<RouteParts, 'targets'>): number {
  return Math.max(0, parts.targets?.findIndex((t) => t.primary) ?? 0);
}

/** The queued routes of a fan-out route: every target (async), the targets but the primary (sync). */
export function queuedTargets(fanout: Fanout, delivery: string): QueuedRoute[] {
  return fanout.targets.filter((_, i) => delivery !== 'sync' || i !== fanout.primary).map((t) => t.queued);
}
