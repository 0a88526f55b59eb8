/**
 * The compiled forms of the routes whose caller gets the target's answer: `sync`, and `hybrid`
 * when delivered in time.
 */
import type { BufferedRoute } from '../../pipeline/route.ts';
import type { CompiledStep } from '../../transforms/run.ts';
import type { Fanout } from '../fanout/targets.ts';

/** A route whose caller gets the target's answer (sync, and hybrid when delivered in time). */
export interface AnsweringRoute extends BufferedRoute {
  /** Steps over a 2xx target answer before the caller gets it; empty when none. */
  responseTransform: readonly CompiledStep[];
}

/** A `delivery: sync` route: the caller waits for the target, within `timeouts.deadline`. */
export interface SyncRoute extends AnsweringRoute {
  delivery: 'sync';
  timeouts: { connect: number; attempt: number; deadline: number };
  /** Its targets, when it fans out: the primary answers, the others are queued routes of their own. */
  fanout: Fanout | undefined;
}
