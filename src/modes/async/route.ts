/**
 * The compiled form of a queued route (`async`, and `hybrid` for what it hands to the queue): its
 * queue settings and how it finds a webhook's id for deduplication.
 */
import type { Template } from '../../core/text-template.ts';
import type { BufferedRoute } from '../../pipeline/route.ts';
import type { Fanout } from '../fanout/targets.ts';
import type { RouteQueue } from './schema.ts';

/** How a route finds a webhook's id for deduplication. */
export interface CompiledDedup {
  header: string | undefined;
  field: Template | undefined;
  windowMs: number;
}

/** A route whose deliveries go through the durable queue (`async`, and `hybrid` for what it queues). */
export interface QueuedRoute extends BufferedRoute {
  /** The route's queue settings, the defaults for those it does not set. */
  queue: RouteQueue;
  /** Undefined when the route does not deduplicate. */
  dedup: CompiledDedup | undefined;
}

/** A `delivery: async` route: stored durably, acknowledged at once, delivered by workers. */
export interface AsyncRoute extends QueuedRoute {
  delivery: 'async';
  /** Its targets, when it fans out (`targets` instead of `forward`); each is its own queued route. */
  fanout: Fanout | undefined;
}
