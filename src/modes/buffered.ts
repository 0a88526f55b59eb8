/** What every mode that buffers the body and sends it itself (sync, async, hybrid) keeps of a route. */
import type { BufferedRoute, RouteParts } from '../pipeline/route.ts';

export function bufferedRoute<D extends string>(
  parts: RouteParts,
  delivery: D,
): BufferedRoute & { delivery: D } {
  const { forward } = parts;
  // The schema requires `forward` on every route that is not an echo route.
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
