/**
 * The handshake stage (docs/lifecycle.md): a route's provider handshake (`handshake`) answered by
 * the relay itself, never forwarded. It runs twice around `verify`: before it for a handshake the
 * provider does not sign (it carries no signature to check), after it for one the provider signs
 * (answered only to a caller that passed). Every other call goes on untouched, except one that
 * came with a method the route accepts only for its handshake (a GET on a POST route): not being
 * the handshake, it is answered 405 like any other method the route does not accept.
 */
import { HookrelayError } from '../core/errors.ts';
import { type HandshakeReply, handshakeRequest } from '../handshakes/types.ts';
import { type Call, queryOf } from './call.ts';
import { answered, type StageResult } from './stages.ts';

type HandshakeRefusal = Extract<HandshakeReply, { kind: 'refuse' }>;

const PASSED: StageResult = { kind: 'continue', value: undefined };

/** `verified`: whether `verify` ran already (the second turn, for a handshake the provider signs). */
export function handshake(call: Call, bytes: Buffer, verified: boolean): StageResult {
  const compiled = call.route.handshake;
  if (!compiled) return PASSED;
  const { type, handshake: preset } = compiled;
  if (preset.signed && !verified && !call.handshakeOnly) return PASSED;
  const request = handshakeRequest(call.method, queryOf(call), call.req.headers, bytes, compiled.jsonDepth);
  const candidate = preset.candidate(request);
  if (preset.signed && !verified) {
    // Not answered before the caller is verified; but a call the route takes only as its handshake
    // that cannot be one is refused now, with the 405 it would get without a handshake.
    return candidate ? PASSED : notAllowed(call);
  }
  const reply = candidate ? preset.answer(request) : undefined;
  if (reply === undefined) return call.handshakeOnly ? notAllowed(call) : PASSED;
  const { metrics } = call.ctx;
  if (reply.kind === 'refuse') {
    metrics.handshakeRefusals.inc({ route: call.route.id, type, reason: reply.reason });
    const error = handshakeError(type, reply);
    return { kind: 'fail', error, fields: { handshake: type, detail: reply.detail } };
  }
  metrics.handshakes.inc({ route: call.route.id, type });
  const { status, headers, body } = reply;
  return answered({ status, headers, body, fields: { handshake: type, result: 'handshake' } });
}

/** A refused handshake's error: 403 for a token that does not match, 400 for a malformed challenge. */
export function handshakeError(type: string, refusal: HandshakeRefusal): HookrelayError {
  const code =
    refusal.reason === 'forbidden' ? 'HOOKRELAY_ERR_HANDSHAKE_REFUSED' : 'HOOKRELAY_ERR_HANDSHAKE_MALFORMED';
  return new HookrelayError(code, { handshake: type, reason: refusal.reason, detail: refusal.detail });
}

function notAllowed(call: Call): StageResult {
  const allow = call.route.methods.join(', ');
  const error = new HookrelayError('HOOKRELAY_ERR_METHOD_NOT_ALLOWED', { allow, method: call.method });
  return { kind: 'fail', error, headers: { allow } };
}
