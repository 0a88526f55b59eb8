/**
 * The tracing contract (issue 16, docs/observability.md): spans as the pipeline, the transform
 * steps, delivery and the queue start them, and the no-op tracer used when tracing is off. The
 * OpenTelemetry SDK behind it lives in telemetry/otel.ts and is loaded only when tracing is on;
 * this file is in the core so every layer (a `fetch` step too) can take a parent span.
 */

/** W3C trace context as it travels in headers and is stored with a queued delivery. */
export interface TraceCarrier {
  traceparent: string;
  tracestate?: string | undefined;
}

export type SpanKind = 'server' | 'client' | 'internal' | 'consumer' | 'producer';
export type SpanAttributes = Record<string, string | number | boolean>;

export interface Span {
  /** 32 hex digits ('' on the no-op span). */
  readonly traceId: string;
  /** 16 hex digits ('' on the no-op span). */
  readonly spanId: string;
  setAttributes(attributes: SpanAttributes): void;
  /** Records the error's type and message (never a body) and marks the span failed. */
  recordException(error: unknown): void;
  /** Marks the span failed without an exception (a 5xx answer, a refused call). */
  setError(message?: string): void;
  end(): void;
  /** This span's context as `traceparent`/`tracestate`, for the target's headers or the queue. */
  carrier(): TraceCarrier | undefined;
}

export interface SpanOptions {
  kind?: SpanKind;
  /** A span of this process (verify under the server span), or a remote context (a caller's headers). */
  parent?: Span | TraceCarrier | undefined;
  /** Spans this one is caused by but not part of: the accepting request of a queued delivery. */
  links?: readonly TraceCarrier[];
  attributes?: SpanAttributes;
}

export interface Tracer {
  /** false on the no-op tracer: callers skip building attributes at all. */
  readonly enabled: boolean;
  startSpan(name: string, options?: SpanOptions): Span;
  /** The caller's context from inbound headers; undefined when absent or malformed. */
  extract(headers: Record<string, string | string[] | undefined>): TraceCarrier | undefined;
  /** Exports what is buffered and stops (graceful stop). */
  shutdown(): Promise<void>;
}

export const NOOP_SPAN: Span = {
  traceId: '',
  spanId: '',
  setAttributes() {},
  recordException() {},
  setError() {},
  end() {},
  carrier: () => undefined,
};

export const NOOP_TRACER: Tracer = {
  enabled: false,
  startSpan: () => NOOP_SPAN,
  extract: () => undefined,
  shutdown: async () => {},
};

/** Where a piece of work starts its spans: the tracer (tracing on) and the span they descend from. */
export interface TraceParent {
  tracer: Tracer;
  parent: Span;
}

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

/** The trace and span ids of a stored `traceparent` (the accepting span of a queued delivery). */
export function carrierIds(
  carrier: TraceCarrier | undefined,
): { traceId: string; spanId: string } | undefined {
  const match = carrier ? TRACEPARENT.exec(carrier.traceparent) : null;
  return match ? { traceId: match[1]!, spanId: match[2]! } : undefined;
}
