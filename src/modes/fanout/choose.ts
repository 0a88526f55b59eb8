/**
 * Which targets of a fan-out route get a call: the one a rule chose (`target:`), else every
 * target whose `when` holds (one without `when` always does), in the order of the list. When none
 * does, the call is acknowledged like a rule's `drop`: 200 `{"status":"dropped","reason":"no
 * target matched"}`, counted in hookrelay_targets_unmatched_total.
 */
import { HookrelayError } from '../../core/errors.ts';
import type { InboundMessage } from '../../core/message.ts';
import { type Call, done } from '../../pipeline/call.ts';
import { ConditionError } from '../../pipeline/conditions.ts';
import { type Prepared, templateScope } from '../../pipeline/prepare.ts';
import { send } from '../../pipeline/reply.ts';
import type { BufferedRoute } from '../../pipeline/route.ts';
import type { Fanout, FanoutTarget } from './targets.ts';

/** Throws HOOKRELAY_ERR_TARGET_CONDITION_FAILED when a target's `jsonata` condition fails. */
export async function chooseTargets(
  route: BufferedRoute,
  fanout: Fanout,
  message: InboundMessage,
  prepared: Prepared,
): Promise<FanoutTarget[]> {
  if (prepared.target !== undefined) {
    // The schema admits only a rule target that names one of the route's.
    return fanout.targets.filter((t) => t.name === prepared.target);
  }
  const scope = templateScope(message, prepared.value, route.limits.jsonDepth);
  const chosen: FanoutTarget[] = [];
  for (const target of fanout.targets) {
    try {
      if (target.when === undefined || (await target.when.test(scope))) chosen.push(target);
    } catch (error) {
      if (!(error instanceof ConditionError)) throw error;
      throw new HookrelayError('HOOKRELAY_ERR_TARGET_CONDITION_FAILED', {
        target: target.name,
        reason: error.message,
      });
    }
  }
  return chosen;
}

/** No target's condition held: acknowledged, forwarded nowhere, counted. */
export function answerUnmatched(call: Call<BufferedRoute>, message: InboundMessage): void {
  const { route, ctx } = call;
  ctx.metrics.targetsUnmatched.inc({ route: route.id });
  const body = JSON.stringify({
    status: 'dropped',
    route: route.id,
    reason: 'no target matched',
    requestId: message.requestId,
  });
  send(
    call.res,
    200,
    { 'content-type': 'application/json; charset=utf-8', [ctx.requestIdHeader]: message.requestId },
    body,
  );
  done(call, 200, { result: 'dropped', reason: 'no target matched' });
}
