import type { Metrics } from '../metrics/index.ts';
import type { InboundMessage } from '../pipeline/message.ts';
import type { ParsePool } from './parse-pool.ts';

/**
 * What a transform step works on. A body starts as the raw bytes with their content type; a step
 * that needs structure parses it into a `value` (JSON-like data); a step that emits a wire format
 * (xml-out) turns it back into bytes. At the end a `value` is serialised as JSON.
 */
export type Payload =
  | { kind: 'bytes'; bytes: Buffer; contentType: string | undefined }
  | { kind: 'value'; value: unknown };

export interface TransformContext {
  routeId: string;
  /** The inbound request: method, params, query, headers, request id. Read-only. */
  readonly message: InboundMessage;
  payload: Payload;
  /** Outbound header edits, applied after the route's static headers: set wins, then remove. */
  setHeaders: Record<string, string>;
  removeHeaders: Set<string>;
  /** Outbound method override (e.g. a GET callback forwarded as POST). */
  method: string | undefined;
  /** Deepest JSON nesting a step may parse (the route's `limits.jsonDepth`); see json-depth.ts. */
  jsonDepth?: number;
}

export interface TransformStep {
  run(ctx: TransformContext): void | Promise<void>;
}

/** Passed to a transform plugin's `create`: where the step sits, for error messages and metrics. */
export interface StepInfo {
  routeId: string;
  /** Position in the route's list, 0-based. */
  index: number;
  /** `transform[2] (map)` or `response.transform[0] (xml)`. */
  name: string;
  /** The running relay's shared resources; absent in `try`, `test` and unit tests (steps run inline). */
  runtime?: StepRuntime | undefined;
}

/** What the app lends the transform steps it compiles: the parsing workers and the metrics. */
export interface TransformRuntime {
  /** Worker threads for large bodies; without it every body is parsed on the event loop. */
  pool?: ParsePool | undefined;
  metrics?: Metrics | undefined;
}

export interface StepRuntime extends TransformRuntime {
  /**
   * Whether a step may be refused with 503 when the parsing workers are saturated: request steps
   * may (nothing was sent yet), `response.transform` steps wait instead (the target already has
   * the request, and refusing would make the caller send it again).
   */
  refuseWhenBusy: boolean;
}
