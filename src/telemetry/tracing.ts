/**
 * Tracing (issue 16, docs/observability.md): the small tracer the pipeline, delivery and the queue
 * use, and the choice of whether it is the OpenTelemetry SDK (otel.ts) or the no-op below. Off by
 * default; on with a `tracing:` block (`enabled: true`) or the standard `OTEL_*` variables
 * (`OTEL_TRACES_EXPORTER=otlp`, `OTEL_EXPORTER_OTLP_ENDPOINT`/`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`).
 * When off, no OpenTelemetry module is loaded at all: otel.ts is imported dynamically only once
 * tracing is on, and the hot path pays one `tracer.enabled` branch per call.
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

export type OtlpProtocol = 'http/json' | 'http/protobuf';

/** The `tracing:` block as the schema gives it (config/sections.ts). */
export interface TracingConfig {
  enabled?: boolean | undefined;
  endpoint?: string | undefined;
  protocol?: OtlpProtocol | undefined;
  serviceName?: string | undefined;
  sampleRatio?: number | undefined;
}

/** What otel.ts is started with: unset fields are left to the SDK's own `OTEL_*` handling. */
export interface TracingSettings {
  /** The full traces URL (…/v1/traces); undefined: the exporter reads the `OTEL_*` endpoint. */
  url: string | undefined;
  protocol: OtlpProtocol;
  serviceName: string | undefined;
  /** A parent-based ratio sampler; undefined: `OTEL_TRACES_SAMPLER`(+`_ARG`), else always on. */
  sampleRatio: number | undefined;
}

const truthy = (value: string | undefined) => value !== undefined && value.trim() !== '';

/**
 * Whether tracing is on and how, from the `tracing:` block and the environment. The block's
 * `enabled` decides when given; otherwise an OTLP traces exporter or endpoint in the environment
 * turns it on. `OTEL_SDK_DISABLED=true` and `OTEL_TRACES_EXPORTER=none` keep it off whatever else.
 */
export function tracingSettings(
  config: TracingConfig | undefined,
  env: NodeJS.ProcessEnv = process.env,
): TracingSettings | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((e) => e.trim().toLowerCase());
  if (exporters.includes('none')) return undefined;
  const fromEnv =
    exporters.includes('otlp') ||
    truthy(env.OTEL_EXPORTER_OTLP_ENDPOINT) ||
    truthy(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  const on = config?.enabled ?? (fromEnv || truthy(config?.endpoint));
  if (!on) return undefined;
  const envProtocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL)?.trim();
  const protocol: OtlpProtocol =
    config?.protocol ?? (envProtocol === 'http/json' ? 'http/json' : 'http/protobuf');
  return {
    url: config?.endpoint,
    protocol,
    serviceName: config?.serviceName,
    sampleRatio: config?.sampleRatio,
  };
}

/** The SDK tracer when `settings` says tracing is on (loading the SDK then, not before), else the no-op. */
export async function createTracer(settings: TracingSettings | undefined): Promise<Tracer> {
  if (!settings) return NOOP_TRACER;
  const { createOtelTracer } = await import('./otel.ts');
  return createOtelTracer(settings);
}

/** `traceId`/`spanId` for a log line: none when the span is the no-op one. */
export function traceFields(span: Span | undefined): { traceId?: string; spanId?: string } {
  if (!span || span.traceId === '') return {};
  return { traceId: span.traceId, spanId: span.spanId };
}
