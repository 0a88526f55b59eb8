/**
 * One simulated call through a route, as the relay would handle it up to the network: the inbound
 * checks, the route's handshake (answered by the relay itself, nothing forwarded), the transform
 * steps (prepareOutbound, shared with the relay) and the credentials. Nothing is sent to the
 * target. The caller's `verify` is not run: a handshake the provider signs is shown as the answer
 * it gets once the caller passed. A `fetch` step's lookup is previewed and the run stops there
 * (`stopped`), unless the lookups are made (`try --fetch`) or answered by a test case's fixtures.
 */
import type { CompiledRoute } from '../config/compile.ts';
import { ERRORS, HookrelayError } from '../core/errors.ts';
import type { InboundMessage } from '../core/message.ts';
import { FetchAnswered, FetchPreview } from '../enrich/index.ts';
import { handshakeRequest } from '../handshakes/types.ts';
import { decideHandshake, handshakeError, methodNotAllowed } from '../pipeline/handshake.ts';
import { buildOutbound } from '../pipeline/outbound.ts';
import { type Prepared, prepareOutbound, RulesHalt } from '../pipeline/prepare.ts';
import { renderRespond } from '../pipeline/respond.ts';
import { isBuffered } from '../pipeline/route.ts';
import { type Authorised, authorise } from '../present/redact.ts';
import type { Answer } from '../present/render.ts';
import { StepError } from '../transforms/run.ts';
import type { Lookups, StepInfo } from '../transforms/types.ts';
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
      /** The rule that matched (it chose the target), if one did. */
      rule: string | undefined;
      /** A fan-out route's chosen targets, each with its request (empty: none chosen); else undefined. */
      targets?: TargetRun[] | undefined;
    }
  | {
      /**
       * The relay answers the call by itself: the route's handshake, a rule's `answer` or `drop`,
       * or a `fetch` step's `answers` entry for the lookup's status.
       */
      ok: 'answered';
      answer: Answer;
      /** The handshake type that answered it, when one did. */
      handshake?: string | undefined;
      /** Whether the provider signs that handshake (answered only once `verify` passed). */
      signed?: boolean | undefined;
      /** The rule that answered it (`by`: `answer` or `drop`), when one did. */
      rule?: string | undefined;
      /** What answered: `answer` or `drop` (a rule), `fetch` (a step's `answers`). */
      by?: string | undefined;
      /** The `fetch` step whose `answers` answered, when one did. */
      step?: StepInfo | undefined;
    }
  | { ok: false; error: HookrelayError; step: StepInfo | undefined; rule?: string | undefined }
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
    const handshake = handshakeOf(route, message, requestIdHeader);
    if (handshake) return handshake;
    // A stream route has no transform steps: its request is the caller's, with the route's target.
    prepared = isBuffered(route)
      ? await prepareOutbound(route, message, requestIdHeader, lookups)
      : { outbound: buildOutbound(route.forward, message, requestIdHeader), value: undefined };
  } catch (error) {
    if (error instanceof RulesHalt) {
      const { outcome } = error;
      const rule = outcome.rule;
      if (outcome.kind === 'refuse' || outcome.kind === 'failed') {
        return { ok: false, error: outcome.error, step: undefined, rule };
      }
      const headers = { ...outcome.headers, [requestIdHeader]: message!.requestId };
      const answer = { status: outcome.status, headers, body: outcome.body };
      return { ok: 'answered', answer, rule, by: outcome.kind };
    }
    if (error instanceof FetchPreview) {
      const lookup = await authorise(error.request, error.auth);
      return { ok: 'stopped', step: error.step, reason: error.reason, into: error.into, lookup };
    }
    if (error instanceof StepError && error.error instanceof FetchAnswered) {
      const { answer } = error.error;
      const headers = { ...answer.headers, [requestIdHeader]: message!.requestId };
      return { ok: 'answered', answer: { ...answer, headers }, by: 'fetch', step: error.step };
    }
    if (error instanceof StepError) return { ok: false, error: error.error, step: error.step };
    if (error instanceof HookrelayError) return { ok: false, error, step: undefined };
    throw error;
  }
  const rule = prepared.rule;
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
  return { ok: true, message, prepared, authorised, answer, rule, targets };
}

/**
 * What the route's handshake does with the call, as the relay's handshake stage does: its answer,
 * its refusal, a 405 for a method the route takes only for the handshake; undefined: the call goes on.
 */
function handshakeOf(
  route: CompiledRoute,
  message: InboundMessage,
  requestIdHeader: string,
): DryRun | undefined {
  const compiled = route.handshake;
  if (!compiled) return undefined;
  const { method, query, headers, body } = message;
  const request = () => handshakeRequest(method, query, headers, body, compiled.jsonDepth);
  // Signatures are not checked here: a signed handshake is shown as the caller that passed gets it.
  const decision = decideHandshake(compiled, request, !route.methods.includes(method), true);
  switch (decision.kind) {
    case 'pass':
      return undefined;
    case 'not-allowed':
      return { ok: false, error: methodNotAllowed(route.methods, method), step: undefined };
    case 'refuse':
      return { ok: false, error: handshakeError(compiled.type, decision), step: undefined };
    case 'answer': {
      const answer = {
        status: decision.status,
        headers: { ...decision.headers, [requestIdHeader]: message.requestId },
        body: decision.body,
      };
      return { ok: 'answered', handshake: compiled.type, signed: compiled.handshake.signed, answer };
    }
  }
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
