/**
 * The compiled form of a `delivery: stream` route: a forward block, connect and idle timeouts, no
 * retry policy and no transforms.
 */
import type { CompiledForward, RouteBase } from '../../pipeline/route.ts';

/** A `delivery: stream` route: no retry policy, no transforms; its own body limit only. */
export interface StreamRoute extends RouteBase {
  delivery: 'stream';
  forward: CompiledForward;
  timeouts: { connect: number };
  stream: { idleTimeout: number; retryRefused: boolean };
}
