/**
 * Runs a route's transform steps in order over a payload, and names a failing step for metrics and
 * logs.
 */
import type { HookrelayError } from '../core/errors.ts';
import type { InboundMessage } from '../core/message.ts';
import type { Span, TraceParent } from '../core/tracing.ts';
import { failed } from './errors.ts';
import { serialise } from './payload.ts';
import { nextTurn } from './turns.ts';
import type { Lookups, Payload, StepInfo, TransformContext, TransformStep } from './types.ts';

export interface CompiledStep {
  info: StepInfo;
  step: TransformStep;
}

export interface TransformResult {
  body: Buffer;
  contentType: string | undefined;
  setHeaders: Record<string, string>;
  removeHeaders: Set<string>;
  method: string | undefined;
  /** The final payload as a value, when the last step left structured data (else undefined). */
  value: unknown;
}

/** Thrown when a step fails; carries the step so metrics and logs can name it. */
export class StepError extends Error {
  readonly step: StepInfo;
  readonly error: HookrelayError;
  constructor(step: StepInfo, error: HookrelayError) {
    super(error.message, { cause: error });
    this.step = step;
    this.error = error;
  }
}

/**
 * A point between two steps where the caller looks at the payload (the route's rules, before the
 * step at index `at`; `at` = the number of steps: after the last). What `run` throws ends the run
 * as it is: it is not a step's failure.
 */
export interface Checkpoint {
  at: number;
  run(ctx: TransformContext): Promise<void>;
}

/**
 * Thrown by a step that ends the run without a failure to report: a `fetch` step previewed by
 * `hookrelay try` (src/enrich/), whose caller shows what it carries. Passed through as thrown.
 */
export class StepStop extends Error {}

export interface RunOptions {
  /** How `fetch` steps make their lookups (`try` previews them, `test` answers from fixtures). */
  lookups?: Lookups | undefined;
  /** Where the route's rules look at the payload. */
  checkpoint?: Checkpoint | undefined;
  /** Header edits and method of the steps that ran before (a fan-out target's go on from the route's). */
  from?: Pick<TransformResult, 'setHeaders' | 'removeHeaders' | 'method'> | undefined;
  /** Tracing on: a span per step under `parent`, which a `fetch` step's lookups descend from. */
  trace?: TraceParent | undefined;
}

/** Runs the steps in order over a payload; the last step decides the body and content type. */
export async function runTransforms(
  steps: readonly CompiledStep[],
  message: InboundMessage,
  payload: Payload,
  limits: { jsonDepth?: number } = {},
  options: RunOptions = {},
): Promise<TransformResult> {
  // A large body is transformed on a turn of the event loop of its own (turns.ts), so other
  // requests and the health endpoints are served between large bodies, not after all of them.
  const pool = steps[0]?.info.runtime?.pool;
  if (payload.kind === 'bytes' && pool?.isLarge(payload.bytes.length)) await nextTurn();
  const { lookups, checkpoint, from, trace } = options;
  const ctx: TransformContext = {
    routeId: message.routeId,
    message,
    payload,
    // A fan-out target's steps go on from the route's (their header edits and method included).
    setHeaders: { ...from?.setHeaders },
    removeHeaders: new Set(from?.removeHeaders),
    method: from?.method,
    jsonDepth: limits.jsonDepth,
    lookups,
  };
  for (let index = 0; index < steps.length; index++) {
    const { info, step } = steps[index]!;
    if (checkpoint?.at === index) await checkpoint.run(ctx);
    const span = trace && stepSpan(trace, info);
    if (span) ctx.trace = { tracer: trace.tracer, parent: span };
    try {
      await step.run(ctx);
    } catch (error) {
      if (error instanceof StepStop) {
        span?.end();
        throw error;
      }
      const failure = asStepError(error, info);
      if (span) {
        // The code only: a step's message may quote the caller's body.
        span.setAttributes({ 'error.type': failure.code });
        span.setError(failure.code);
        span.end();
      }
      throw new StepError(info, failure);
    }
    span?.end();
  }
  ctx.trace = undefined;
  if (checkpoint !== undefined && checkpoint.at >= steps.length) await checkpoint.run(ctx);
  const { bytes, contentType } = serialise(ctx.payload);
  return {
    body: bytes,
    contentType,
    setHeaders: ctx.setHeaders,
    removeHeaders: ctx.removeHeaders,
    method: ctx.method,
    value: ctx.payload.kind === 'value' ? ctx.payload.value : undefined,
  };
}

/** A step's span: named for its kind (`transform map`), its place in the route as an attribute. */
function stepSpan(trace: TraceParent, info: StepInfo): Span {
  return trace.tracer.startSpan(`transform ${stepKind(info)}`, {
    parent: trace.parent,
    attributes: { 'hookrelay.step': info.name, 'hookrelay.step.index': info.index },
  });
}

/** The step's kind from its name: `map` of `transform[2] (map)`. */
function stepKind(info: StepInfo): string {
  const open = info.name.lastIndexOf('(');
  return open < 0 ? 'step' : info.name.slice(open + 1, -1);
}

function asStepError(error: unknown, info: StepInfo): HookrelayError {
  if (
    error instanceof Error &&
    'code' in error &&
    typeof error.code === 'string' &&
    error.code.startsWith('HOOKRELAY_ERR_')
  ) {
    return error as HookrelayError;
  }
  // A step that threw something unexpected still fails the request as the step's failure, not a 500.
  return failedStep(info, error);
}

function failedStep(info: StepInfo, error: unknown): HookrelayError {
  return failed(info.name, error instanceof Error ? error.message : String(error));
}

/** Bounded metric label for a step: `1-map`, `response-0-xml`, `erp-0-xml-out` (a fan-out target's). */
export function stepLabel(info: StepInfo): string {
  const target = /^targets\[([^\]]+)\]/.exec(info.name)?.[1];
  const list = info.name.startsWith('response') ? 'response-' : target ? `${target}-` : '';
  return `${list}${info.index}-${info.name.slice(info.name.indexOf('(') + 1, -1)}`;
}
