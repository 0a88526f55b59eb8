/** What every mode that buffers the body and sends it itself (sync, async, hybrid) keeps of a route. */
import type { BufferedRoute, RouteParts } from '../pipeline/route.ts';
import { primaryOf } from './fanout/targets.ts';

export function bufferedRoute<D extends string>(
  parts: RouteParts,
  delivery: D,
): BufferedRoute & { delivery: D } {
  // A fan-out route's `forward` is its primary target's (the first unless one is marked): the
  // prepare stage builds a request for it; the mode builds each target's own (modes/fanout/).
  const forward = parts.forward ?? parts.targets?.[primaryOf(parts)]?.forward;
  // The schema requires `forward` or `targets` on every route that is not an echo route.
  if (!forward) throw new Error(`route '${parts.id}' has no forward block`);
  return {
    id: parts.id,
    path: parts.path,
    methods: parts.methods,
    delivery,
    verify: parts.verify,
    handshake: parts.handshake,
    forward,
    transform: parts.transform,
    configHeaders: parts.configHeaders,
    respond: parts.respond,
    rules: parts.rules,
    rulesAt: parts.rulesAt,
    onError: parts.onError,
    retry: parts.retry,
    timeouts: { connect: parts.timeouts.connect, attempt: parts.timeouts.attempt },
    limits: parts.limits,
  };
}
