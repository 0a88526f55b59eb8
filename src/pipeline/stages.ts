/**
 * The shared stages of the lifecycle (lifecycle.ts, docs/lifecycle.md), each a step that either
 * lets the call go on, with what it produced, or ends it with an answer. A stage never answers by
 * itself: the lifecycle ends the call with the result, so every early end has the same metrics and
 * the same one log line.
 */
import { HookrelayError } from '../core/errors.ts';
import type { InboundMessage } from '../core/message.ts';
import { FetchAnswered } from '../enrich/index.ts';
import { StepError, stepLabel } from '../transforms/run.ts';
import { readBody } from './body.ts';
import { type Call, queryOf } from './call.ts';
import { type Prepared, prepareOutbound, RulesHalt } from './prepare.ts';
import { asHookrelayError } from './reply.ts';
import type { BufferedRoute } from './route.ts';
import { releaseUnlessAccepted, verifyCaller } from './verify.ts';

/** An answer a stage gives by itself, without forwarding (a handshake, a rule's `answer`, a `drop`). */
export interface StageAnswer {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
  /** Added to the call's `request` log line (e.g. `rule`, `handshake`, `result`). */
  fields?: Record<string, unknown>;
}

/**
 * What a stage decides: go on with its value, end the call with the JSON error (`fail`), or end
 * it with an answer of its own (`answer`: nothing is forwarded).
 */
export type StageResult<T = undefined> =
  | { kind: 'continue'; value: T }
  | {
      kind: 'fail';
      error: HookrelayError;
      fields?: Record<string, unknown>;
      /** Headers of the error answer (e.g. `Allow` with a 405). */
      headers?: Record<string, string>;
    }
  | { kind: 'answer'; answer: StageAnswer };

const go = <T>(value: T): StageResult<T> => ({ kind: 'continue', value });
const stop = (error: HookrelayError, fields?: Record<string, unknown>): StageResult<never> => ({
  kind: 'fail',
  error,
  ...(fields ? { fields } : {}),
});

export const answered = (answer: StageAnswer): StageResult<never> => ({ kind: 'answer', answer });

const EMPTY = Buffer.alloc(0);
const PASSED: StageResult = go(undefined);

/** Whether the route has checks to run: a route without `verify` skips the stage (and its promise). */
export const verifies = (call: Call): boolean => call.route.verify.length > 0;

/**
 * Admit: once a graceful shutdown began, new calls are refused (503, `Connection: close`); the
 * listener's concurrency and per-client caps were applied before the call was matched.
 */
export function admit(call: Call): StageResult {
  return call.ctx.lifecycle.shuttingDown
    ? stop(new HookrelayError('HOOKRELAY_ERR_SHUTTING_DOWN'))
    : go(undefined);
}

/** Read body: the raw bytes, within `limits.body` and `server.minBodyRate`. */
export function body(call: Call): Promise<StageResult<Buffer>> {
  // `then` rather than an async function: one promise fewer on every request.
  return readBody(call.req, call.route.limits.body, call.ctx.bodyRate).then(
    (bytes) => {
      call.ctx.metrics.bodyBytes.inc({ route: call.route.id }, bytes.length);
      return go(bytes);
    },
    // Too large, too slow, gone or broken: nothing more of it is read.
    (error: unknown) => stop(asHookrelayError(error)),
  );
}

/** For a mode that streams the body: only its declared length is checked, nothing is read. */
export function declaredLength(call: Call): StageResult<Buffer> {
  const declared = call.req.headers['content-length'];
  const limit = call.route.limits.body;
  if (declared !== undefined && Number(declared) > limit) {
    return stop(new HookrelayError('HOOKRELAY_ERR_BODY_TOO_LARGE', { limit }));
  }
  return go(EMPTY);
}

/**
 * Verify: the route's checks on the raw request (the bytes as received; empty for a streamed
 * body). Replay claims are released unless the caller gets a 2xx.
 */
export async function verify(call: Call, bytes: Buffer): Promise<StageResult> {
  const { route } = call;
  if (route.verify.length === 0) return PASSED;
  const span = call.span && call.ctx.tracing?.current.startSpan('verify', { parent: call.span });
  const verified = await verifyCaller(
    route,
    {
      method: call.method,
      url: call.req.url ?? '/',
      query: queryOf(call),
      headers: call.req.headers,
      body: bytes,
      remoteAddress: call.clientIp,
    },
    call.ctx.routing.current.replay,
  );
  if (span) {
    if ('refused' in verified) span.setAttributes({ 'hookrelay.verify.refused': verified.refused.type });
    span.end();
  }
  if ('refused' in verified) {
    const { refused } = verified;
    call.ctx.metrics.verifyFailures.inc({ route: route.id, verifier: refused.type, reason: refused.reason });
    // The reason is a bounded word; the detail names what was missing or wrong, never the secret.
    return stop(refused.error, { detail: refused.detail });
  }
  if (verified.releases.length > 0) releaseUnlessAccepted(call.res, verified.releases);
  return PASSED;
}

/**
 * Transform and prepare outbound: the route's steps, then the request for the target; the route's
 * rules are checked where its parsing steps end. A rule that matches is named on the call's
 * `request` line whatever it did: `answer` and `drop` answer here, `refuse` ends the call with its
 * error, `target` goes on with the target chosen.
 */
export function prepare(call: Call<BufferedRoute>, message: InboundMessage): Promise<StageResult<Prepared>> {
  const tracer = call.ctx.tracing?.current;
  const span = call.span && tracer?.startSpan('transform', { parent: call.span });
  const prepared = prepareOutbound(
    call.route,
    message,
    call.ctx.requestIdHeader,
    undefined,
    span && tracer ? { tracer, parent: span } : undefined,
  );
  if (span) {
    prepared.then(
      () => span.end(),
      (error: unknown) => {
        if (error instanceof StepError) span.setAttributes({ 'hookrelay.step': error.step.name });
        span.end();
      },
    );
  }
  return prepared.then(
    (prepared) => {
      if (prepared.rule !== undefined) {
        call.rule = prepared.rule;
        call.ctx.metrics.ruleMatches.inc({ route: call.route.id, rule: prepared.rule, action: 'target' });
      }
      return go(prepared);
    },
    (error: unknown) => {
      if (error instanceof RulesHalt) return halted(call, error.outcome);
      if (!(error instanceof StepError)) throw error;
      if (error.error instanceof FetchAnswered) return answered(error.error.answer);
      call.ctx.metrics.transformErrors.inc({ route: call.route.id, step: stepLabel(error.step) });
      return stop(error.error, { step: error.step.name });
    },
  );
}

function halted(call: Call<BufferedRoute>, outcome: RulesHalt['outcome']): StageResult<never> {
  call.rule = outcome.rule;
  if (outcome.kind === 'failed') return stop(outcome.error);
  call.ctx.metrics.ruleMatches.inc({ route: call.route.id, rule: outcome.rule, action: outcome.kind });
  switch (outcome.kind) {
    case 'answer':
      return answered({ ...outcome, fields: { result: 'answered' } });
    case 'drop':
      return answered({ ...outcome, fields: { result: 'dropped' } });
    case 'refuse':
      return stop(outcome.error);
  }
}
