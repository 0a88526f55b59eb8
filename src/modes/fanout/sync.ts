/**
 * A sync fan-out route's call. One chosen target answers the caller: the primary when it is
 * chosen, else the first chosen (a rule's `target:` naming another target makes that one
 * answer). It is delivered while the caller waits, exactly as a sync route's target. The other
 * chosen targets are queued, and only once the answering target accepted (2xx): a caller that
 * retries after a refusal does not duplicate them. When storing them fails after the target
 * accepted, the caller gets 503 and retries (the answering target may see the call twice, which
 * beats a copy lost). docs/routing.md#fan-out.
 */
import type { InboundMessage } from '../../core/message.ts';
import { type Call, fail } from '../../pipeline/call.ts';
import type { Prepared } from '../../pipeline/prepare.ts';
import { asHookrelayError } from '../../pipeline/reply.ts';
import { answer } from '../sync/answer.ts';
import { deliverNow } from '../sync/deliver.ts';
import type { SyncRoute } from '../sync/route.ts';
import type { ModeServices } from '../types.ts';
import { answerUnmatched, chooseTargets } from './choose.ts';
import { type Copy, prepareCopies, storeCopies } from './copies.ts';
import type { Fanout } from './targets.ts';

export async function deliverFanout(
  call: Call<SyncRoute>,
  fanout: Fanout,
  message: InboundMessage,
  prepared: Prepared,
  services: ModeServices,
): Promise<void> {
  let copies: Copy[] | undefined;
  try {
    const chosen = await chooseTargets(call.route, fanout, message, prepared);
    if (chosen.length === 0) return answerUnmatched(call, message);
    copies = await prepareCopies(call, chosen, message, prepared);
  } catch (error) {
    fail(call, asHookrelayError(error));
    return;
  }
  if (!copies) return;
  const primary = fanout.targets[fanout.primary]!;
  const first = copies.find((c) => c.target === primary) ?? copies[0]!;
  const others = copies.filter((c) => c !== first);
  const { queued } = first.target;
  // The route answers as configured (respond, response.transform), with this target's request.
  const route = { ...call.route, forward: queued.forward, retry: queued.retry };
  const outcome = await deliverNow({ ...call, route }, first.prepared, services.clients, {
    id: call.requestId,
    timeouts: route.timeouts,
  });
  if (outcome.result === 'delivered' && others.length > 0) {
    try {
      await storeCopies(others, message, prepared, services, call.span?.carrier());
    } catch (error) {
      fail(call, asHookrelayError(error), {}, { attempts: outcome.attempts, result: 'delivered' });
      return;
    }
  }
  return answer(call, message, outcome, prepared.value);
}
