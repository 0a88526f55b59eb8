/**
 * What a transform step works on. A body starts as the raw bytes with their content type; a step
 * that needs structure parses it into a `value` (JSON-like data); a step that emits a wire format
 * (xml-out) turns it back into bytes. At the end a `value` is serialised as JSON.
 */
import type { Counts, InboundMessage } from '../core/message.ts';
import type { TraceParent } from '../core/tracing.ts';

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
  /** How a step that asks an API (`fetch`, src/enrich/) makes its call in this run; absent: for real. */
  lookups?: Lookups | undefined;
  /** Tracing on: the running step's span, which a `fetch` step's lookups descend from. */
  trace?: TraceParent | undefined;
}

/** An answer a `hookrelay test` case gives in place of a lookup (its `fetched` block). */
export interface LookupFixture {
  status: number;
  headers?: Record<string, string> | undefined;
  contentType?: string | undefined;
  /** The answer's body as text, or `json` serialised. */
  body?: string | undefined;
  json?: unknown;
}

/**
 * `live`: the call is made (the relay, `hookrelay try --fetch`). `preview` (`hookrelay try`): the
 * step describes the request it would make and the run stops there (StepStop). `fixtures`
 * (`hookrelay test`): answers by the step's `into` key, nothing is contacted.
 */
export type Lookups =
  | { kind: 'live' }
  | { kind: 'preview' }
  | { kind: 'fixtures'; fixtures: Readonly<Record<string, LookupFixture>> };

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

/**
 * A job for the parsing workers: one `xml` step's serialisable config (the worker builds its own
 * reader from it, see src/parsing/) and the body.
 */
export interface XmlJob {
  kind: 'xml';
  /** The `xml` step's validated config (`XmlConfig` of xml.ts). */
  config: unknown;
  /** The step's name for error messages: `transform[0] (xml)`. */
  step: string;
  bytes: Buffer;
  contentType: string | undefined;
}

export type ParseJob = XmlJob;

/**
 * Worker threads that parse large bodies off the event loop (src/parsing/pool.ts). A step hands
 * a large body over and gets the value, or the error it would have thrown inline.
 */
export interface ParseService {
  /** Whether a body this large takes a turn of the event loop of its own (turns.ts). */
  isLarge(bytes: number): boolean;
  /** Whether a body this large is parsed by a worker (false when there are no threads). */
  offloads(bytes: number): boolean;
  run(job: ParseJob, options: { routeId: string; refuseWhenBusy: boolean }): Promise<unknown>;
}

/** What the app lends the transform steps it compiles: the parsing workers and what they count. */
export interface TransformRuntime {
  /** Without it every body is parsed on the event loop. */
  pool?: ParseService | undefined;
  metrics?: { xmlLimitRefusals: Counts<'route' | 'limit'> } | undefined;
}

export interface StepRuntime extends TransformRuntime {
  /**
   * Whether a step may be refused with 503 when the parsing workers are saturated: request steps
   * may (nothing was sent yet), `response.transform` steps wait instead (the target already has
   * the request, and refusing would make the caller send it again).
   */
  refuseWhenBusy: boolean;
}
