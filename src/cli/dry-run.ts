import type { CompiledRoute } from '../config/compile.ts';
import { HookrelayError } from '../errors.ts';
import type { InboundMessage } from '../pipeline/message.ts';
import { type Prepared, prepareOutbound, templateScope } from '../pipeline/prepare.ts';
import { StepError } from '../transforms/run.ts';
import { renderTemplate } from '../transforms/template.ts';
import type { StepInfo } from '../transforms/types.ts';
import { type Call, inboundMessage } from './inbound.ts';
import { type Authorised, authorise } from './redact.ts';
import type { Answer } from './render.ts';

/**
 * One simulated call through a route, as the relay would handle it up to the network: the inbound
 * checks, the transform steps (prepareOutbound, shared with the relay) and the credentials. Nothing
 * is sent.
 */
export type DryRun =
  | {
      ok: true;
      message: InboundMessage;
      prepared: Prepared;
      authorised: Authorised;
      /** What a `respond` block answers the caller once the target accepted the request. */
      answer: Answer | undefined;
    }
  | { ok: false; error: HookrelayError; step: StepInfo | undefined };

export async function dryRun(
  route: CompiledRoute,
  call: Call,
  requestIdHeader: string,
  requestId: string,
): Promise<DryRun> {
  let message: InboundMessage;
  let prepared: Prepared;
  try {
    message = inboundMessage(route, call, requestIdHeader, requestId);
    prepared = await prepareOutbound(route, message, requestIdHeader);
  } catch (error) {
    if (error instanceof StepError) return { ok: false, error: error.error, step: error.step };
    if (error instanceof HookrelayError) return { ok: false, error, step: undefined };
    throw error;
  }
  const authorised = await authorise(prepared.outbound, route.forward?.auth, {
    sign: route.forward?.sign ?? [],
    // What a sync route signs as the message id; a queued delivery signs its delivery id instead.
    id: message.requestId,
  });
  let answer: Answer | undefined;
  if (route.respond) {
    const r = route.respond;
    answer = {
      status: r.status,
      headers: { ...r.headers, [requestIdHeader]: message.requestId },
      body: r.body === undefined ? '' : renderTemplate(r.body, templateScope(message, prepared.value)),
    };
  }
  return { ok: true, message, prepared, authorised, answer };
}

/** `route X: transform[1] (map): <reason>`: the step is named once, whatever the error's message. */
export function describeFailure(routeId: string, error: HookrelayError, step: StepInfo | undefined): string {
  const message =
    step && !error.message.startsWith(step.name) ? `${step.name}: ${error.message}` : error.message;
  return `route ${routeId}: ${message}`;
}
