/**
 * A fan-out target's request: its own transform steps over the route's result (the payload, the
 * header edits and method the route's steps left), then its `forward` block. Shared with
 * `hookrelay try` and `hookrelay test`, so what they show is what would be sent.
 */
import type { InboundMessage } from '../../core/message.ts';
import type { TraceParent } from '../../core/tracing.ts';
import { buildOutbound } from '../../pipeline/outbound.ts';
import type { Prepared } from '../../pipeline/prepare.ts';
import { runTransforms } from '../../transforms/run.ts';
import type { Payload } from '../../transforms/types.ts';
import type { FanoutTarget } from './targets.ts';

/**
 * Throws StepError (from runTransforms) when one of the target's steps refuses the body. `trace`:
 * where each step's span goes (tracing on).
 */
export async function prepareTarget(
  target: FanoutTarget,
  message: InboundMessage,
  prepared: Prepared,
  requestIdHeader: string,
  trace?: TraceParent,
): Promise<Prepared> {
  const { forward, limits } = target.queued;
  const from = prepared.transformed;
  if (target.transform.length === 0) {
    return { ...prepared, outbound: buildOutbound(forward, message, requestIdHeader, from) };
  }
  // Steps make new values rather than change the one they read, so targets can share it.
  let payload: Payload;
  if (from === undefined) {
    const type = message.headers['content-type'];
    payload = { kind: 'bytes', bytes: message.body, contentType: Array.isArray(type) ? type[0] : type };
  } else if (from.value !== undefined) payload = { kind: 'value', value: from.value };
  else payload = { kind: 'bytes', bytes: from.body, contentType: from.contentType };
  const result = await runTransforms(target.transform, message, payload, limits, { from, trace });
  return {
    outbound: buildOutbound(forward, message, requestIdHeader, result),
    value: result.value,
    transformed: result,
    target: prepared.target,
  };
}
