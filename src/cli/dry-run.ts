/**
 * One simulated call through a route, as the relay would handle it up to the network: the inbound
 * checks, the transform steps (prepareOutbound, shared with the relay) and the credentials. Nothing
 * is sent to the target. A `fetch` step's lookup is previewed and the run stops there (`stopped`),
 * unless the lookups are made (`try --fetch`) or answered by a test case's fixtures.
 */
import type { CompiledRoute } from '../config/compile.ts';
import { ERRORS, HookrelayError } from '../core/errors.ts';
import type { InboundMessage } from '../core/message.ts';
import { type FetchAnswer, FetchAnswered, FetchPreview } from '../enrich/index.ts';
import { buildOutbound } from '../pipeline/outbound.ts';
import { type Prepared, prepareOutbound } from '../pipeline/prepare.ts';
import { renderRespond } from '../pipeline/respond.ts';
import { isBuffered } from '../pipeline/route.ts';
import { type Authorised, authorise } from '../present/redact.ts';
import type { Answer } from '../present/render.ts';
import { StepError } from '../transforms/run.ts';
import type { Lookups, StepInfo } from '../transforms/types.ts';
import { type Call, inboundMessage } from './inbound.ts';

export type DryRun =
  | {
      ok: true;
      message: InboundMessage;
      prepared: Prepared;
      authorised: Authorised;
      /** What a `respond` block answers the caller once the target accepted the request. */
      answer: Answer | undefined;
    }
  | {
      ok: false;
      error: HookrelayError;
      step: StepInfo | undefined;
      /** The route's own answer for this failure (a `fetch` step's `answers`), given instead of the JSON error. */
      answer?: FetchAnswer | undefined;
    }
  | {
      /** A `fetch` step's lookup was not made: the steps after it need its answer. */
      ok: 'stopped';
      step: StepInfo;
      reason: 'preview' | 'fixture';
      /** The step's `into` key (a test case's `fetched` key). */
      into: string;
      /** The lookup as it would be sent, credentials previewed (never fetched). */
      lookup: Authorised;
    };

export async function dryRun(
  route: CompiledRoute,
  call: Call,
  requestIdHeader: string,
  requestId: string,
  lookups: Lookups = { kind: 'preview' },
): Promise<DryRun> {
  if (!('forward' in route)) throw new Error(`route '${route.id}' does not forward`);
  let message: InboundMessage;
  let prepared: Prepared;
  try {
    message = inboundMessage(route, call, requestIdHeader, requestId);
    // A stream route has no transform steps: its request is the caller's, with the route's target.
    prepared = isBuffered(route)
      ? await prepareOutbound(route, message, requestIdHeader, lookups)
      : { outbound: buildOutbound(route.forward, message, requestIdHeader), value: undefined };
  } catch (error) {
    if (error instanceof FetchPreview) {
      const lookup = await authorise(error.request, error.auth);
      return { ok: 'stopped', step: error.step, reason: error.reason, into: error.into, lookup };
    }
    if (error instanceof StepError) {
      const answer = error.error instanceof FetchAnswered ? error.error.answer : undefined;
      return { ok: false, error: error.error, step: error.step, answer };
    }
    if (error instanceof HookrelayError) return { ok: false, error, step: undefined };
    throw error;
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
  return { ok: true, message, prepared, authorised, answer };
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
