/**
 * The steps both fan-out handlers share: every chosen target's request prepared before anything
 * is sent or stored (a target's step that refuses the body refuses the call, and nothing reaches
 * any target), and the copies stored together, answered only once every one of them is.
 */
import type { HookrelayError } from '../../core/errors.ts';
import type { InboundMessage } from '../../core/message.ts';
import type { TraceCarrier } from '../../core/tracing.ts';
import { type Call, fail } from '../../pipeline/call.ts';
import type { Prepared } from '../../pipeline/prepare.ts';
import { asHookrelayError } from '../../pipeline/reply.ts';
import type { BufferedRoute } from '../../pipeline/route.ts';
import { StepError, stepLabel } from '../../transforms/run.ts';
import { type Stored, storeDelivery } from '../async/accept.ts';
import type { ModeServices } from '../types.ts';
import { prepareTarget } from './prepare.ts';
import type { FanoutTarget } from './targets.ts';

export interface Copy {
  target: FanoutTarget;
  prepared: Prepared;
}

/** Each target's request; undefined when a step refused the body (the call has been answered). */
export async function prepareCopies(
  call: Call<BufferedRoute>,
  targets: readonly FanoutTarget[],
  message: InboundMessage,
  prepared: Prepared,
): Promise<Copy[] | undefined> {
  // A target's own steps are spans under the call's (tracing on), as the route's are.
  const tracer = call.ctx.tracing?.current;
  const trace = call.span && tracer ? { tracer, parent: call.span } : undefined;
  try {
    return await Promise.all(
      targets.map(async (target) => ({
        target,
        prepared: await prepareTarget(target, message, prepared, call.ctx.requestIdHeader, trace),
      })),
    );
  } catch (error) {
    if (!(error instanceof StepError)) throw error;
    call.ctx.metrics.transformErrors.inc({ route: call.route.id, step: stepLabel(error.step) });
    fail(call, error.error, {}, { step: error.step.name });
    return undefined;
  }
}

export interface StoredCopy extends Stored {
  target: string;
}

/**
 * Stores every copy, each as a delivery of its target's queued route. All writes are waited for;
 * when one failed, its error is thrown (the caller gets 503): the copies that were stored stay
 * stored and are delivered (a retried call reaches their targets again unless `dedup` is set).
 * `trace`: the accepting call's span context, stored with every copy (their attempts link to it).
 */
export async function storeCopies(
  copies: readonly Copy[],
  message: InboundMessage,
  prepared: Prepared,
  services: ModeServices,
  trace: TraceCarrier | undefined,
): Promise<StoredCopy[]> {
  const { queue } = services;
  if (!queue) throw new Error('a fan-out route queues its copies but no queue is running');
  const results = await Promise.allSettled(
    copies.map(async ({ target, prepared: own }) => ({
      target: target.name,
      // The webhook's id for `dedup` is read from the route's body, the same for every target.
      ...(await storeDelivery(target.queued, message, own, services, queue, {
        dedupValue: prepared.value,
        trace,
      })),
    })),
  );
  const refused = results.find((r) => r.status === 'rejected');
  if (refused) throw asHookrelayError((refused as PromiseRejectedResult).reason) as HookrelayError;
  return results.map((r) => (r as PromiseFulfilledResult<StoredCopy>).value);
}
