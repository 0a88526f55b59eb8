/**
 * The handshake stage (docs/lifecycle.md): a route's provider handshake (`handshake`) answered by
 * the relay itself, never forwarded. It runs twice around `verify`: before it for a handshake the
 * provider does not sign (it carries no signature to check), after it for one the provider signs
 * (answered only to a caller that passed). Every other call goes on untouched, except one that
 * came with a method the route accepts only for its handshake (a GET on a POST route): not being
 * the handshake, it is answered 405 like any other method the route does not accept.
 */
import { HookrelayError } from '../core/errors.ts';
import { type HandshakeReply, type HandshakeRequest, handshakeRequest } from '../handshakes/types.ts';
import { type Call, queryOf } from './call.ts';
import type { RouteBase } from './route.ts';
import { answered, type StageResult } from './stages.ts';

type HandshakeRefusal = Extract<HandshakeReply, { kind: 'refuse' }>;

const PASSED: StageResult = { kind: 'continue', value: undefined };

/** What the route's handshake makes of a call: let it go on, answer it, refuse it, or 405 it. */
export type HandshakeDecision =
  | { kind: 'pass' }
  | { kind: 'not-allowed' }
  | Extract<HandshakeReply, { kind: 'answer' }>
  | HandshakeRefusal;

const PASS: HandshakeDecision = { kind: 'pass' };
const NOT_ALLOWED: HandshakeDecision = { kind: 'not-allowed' };

/**
 * The decision for one call, shared by the stage and `hookrelay try`/`test`. `handshakeOnly`: the
 * route takes the call's method only for its handshake; `verified`: `verify` ran already (the
 * second turn, for a handshake the provider signs; `try` and `test` do not check signatures).
 */
export function decideHandshake(
  compiled: NonNullable<RouteBase['handshake']>,
  request: () => HandshakeRequest,
  handshakeOnly: boolean,
  verified: boolean,
): HandshakeDecision {
  const preset = compiled.handshake;
  if (preset.signed && !verified && !handshakeOnly) return PASS;
  const req = request();
  const candidate = preset.candidate(req);
  if (preset.signed && !verified) {
    // Not answered before the caller is verified; but a call the route takes only as its handshake
    // that cannot be one is refused now, with the 405 it would get without a handshake.
    return candidate ? PASS : NOT_ALLOWED;
  }
  const reply = candidate ? preset.answer(req) : undefined;
  if (reply === undefined) return handshakeOnly ? NOT_ALLOWED : PASS;
  return reply;
}

/** `verified`: whether `verify` ran already (the second turn, for a handshake the provider signs). */
export function handshake(call: Call, bytes: Buffer, verified: boolean): StageResult {
  const compiled = call.route.handshake;
  if (!compiled) return PASSED;
  const request = () =>
    handshakeRequest(call.method, queryOf(call), call.req.headers, bytes, compiled.jsonDepth);
  const decision = decideHandshake(compiled, request, call.handshakeOnly === true, verified);
  const { type } = compiled;
  const { metrics } = call.ctx;
  switch (decision.kind) {
    case 'pass':
      return PASSED;
    case 'not-allowed':
      return notAllowed(call.route.methods, call.method);
    case 'refuse': {
      metrics.handshakeRefusals.inc({ route: call.route.id, type, reason: decision.reason });
      const error = handshakeError(type, decision);
      return { kind: 'fail', error, fields: { handshake: type, detail: decision.detail } };
    }
    case 'answer': {
      metrics.handshakes.inc({ route: call.route.id, type });
      const { status, headers, body } = decision;
      return answered({ status, headers, body, fields: { handshake: type, result: 'handshake' } });
    }
  }
}

/** A refused handshake's error: 403 for a token that does not match, 400 for a malformed challenge. */
export function handshakeError(type: string, refusal: HandshakeRefusal): HookrelayError {
  const code =
    refusal.reason === 'forbidden' ? 'HOOKRELAY_ERR_HANDSHAKE_REFUSED' : 'HOOKRELAY_ERR_HANDSHAKE_MALFORMED';
  return new HookrelayError(code, { handshake: type, reason: refusal.reason, detail: refusal.detail });
}

/** The 405 a method gets that the route takes only for its handshake, when the call is not one. */
export function methodNotAllowed(methods: readonly string[], method: string): HookrelayError {
  return new HookrelayError('HOOKRELAY_ERR_METHOD_NOT_ALLOWED', { allow: methods.join(', '), method });
}

function notAllowed(methods: readonly string[], method: string): StageResult {
  return { kind: 'fail', error: methodNotAllowed(methods, method), headers: { allow: methods.join(', ') } };
}
