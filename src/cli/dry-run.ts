/**
 * One simulated call through a route, as the relay would handle it up to the network: the inbound
 * checks, the transform steps (prepareOutbound, shared with the relay) and the credentials. Nothing
 * is sent.
 */
import type { CompiledRoute } from '../config/compile.ts';
import { ERRORS, HookrelayError } from '../core/errors.ts';
import type { InboundMessage } from '../core/message.ts';
import { buildOutbound } from '../pipeline/outbound.ts';
import { type Prepared, prepareOutbound } from '../pipeline/prepare.ts';
import { renderRespond } from '../pipeline/respond.ts';
import { isBuffered } from '../pipeline/route.ts';
import { type Authorised, authorise } from '../present/redact.ts';
import type { Answer } from '../present/render.ts';
import { StepError } from '../transforms/run.ts';
import type { StepInfo } from '../transforms/types.ts';
import { dryRunTargets, type TargetRun } from './dry-run-targets.ts';
import { type Call, inboundMessage } from './inbound.ts';

export type DryRun =
  | {
      ok: true;
      message: InboundMessage;
      prepared: Prepared;
      authorised: Authorised;
      /** What a `respond` block answers the caller once the target accepted the request. */
      answer: Answer | undefined;
      /** A fan-out route's chosen targets, each with its request (empty: none chosen); else undefined. */
      targets?: TargetRun[] | undefined;
    }
  | { ok: false; error: HookrelayError; step: StepInfo | undefined };

export async function dryRun(
  route: CompiledRoute,
  call: Call,
  requestIdHeader: string,
  requestId: string,
): Promise<DryRun> {
  if (!('forward' in route)) throw new Error(`route '${route.id}' does not forward`);
  let message: InboundMessage;
  let prepared: Prepared;
  try {
    message = inboundMessage(route, call, requestIdHeader, requestId);
    // A stream route has no transform steps: its request is the caller's, with the route's target.
    prepared = isBuffered(route)
      ? await prepareOutbound(route, message, requestIdHeader)
      : { outbound: buildOutbound(route.forward, message, requestIdHeader), value: undefined };
  } catch (error) {
    if (error instanceof StepError) return { ok: false, error: error.error, step: error.step };
    if (error instanceof HookrelayError) return { ok: false, error, step: undefined };
    throw error;
  }
  let targets: TargetRun[] | undefined;
  if ('fanout' in route && route.fanout) {
    try {
      targets = await dryRunTargets({ ...route, fanout: route.fanout }, message, prepared, requestIdHeader);
    } catch (error) {
      if (error instanceof StepError) return { ok: false, error: error.error, step: error.step };
      if (error instanceof HookrelayError) return { ok: false, error, step: undefined };
      throw error;
    }
  }
  const authorised = await authorise(prepared.outbound, route.forward.auth, {
    sign: route.forward.sign,
    // What a sync route signs as the message id; a queued delivery signs its delivery id instead.
    id: message.requestId,
  });
  const answer: Answer | undefined =
    isBuffered(route) && route.respond
      ? renderRespond(route.respond, route.limits.jsonDepth, message, prepared.value, {
          [requestIdHeader]: message.requestId,
        })
      : undefined;
  return { ok: true, message, prepared, authorised, answer, targets };
}

/**
 * `route X: transform[1] (map): <reason>`: the step is named once. The codes whose message opens
 * with `{step}` name it already (decided on the table's template and the params, not the text).
 */
export function describeFailure(routeId: string, error: HookrelayError, step: StepInfo | undefined): string {
  const named =
    (ERRORS[error.code].message as string).startsWith('{step}') && error.params.step === step?.name;
  const message = step && !named ? `${step.name}: ${error.message}` : error.message;
  return `route ${routeId}: ${message}`;
}
