/**
 * Tracing (issue 16, docs/observability.md): the small tracer the pipeline, delivery and the queue
 * use, and the choice of whether it is the OpenTelemetry SDK (otel.ts) or the no-op of core/tracing.ts. Off by
 * default; on with a `tracing:` block (`enabled: true`) or the standard `OTEL_*` variables
 * (`OTEL_TRACES_EXPORTER=otlp`, `OTEL_EXPORTER_OTLP_ENDPOINT`/`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`).
 * When off, no OpenTelemetry module is loaded at all: otel.ts is imported dynamically only once
 * tracing is on, and the hot path pays one `tracer.enabled` branch per call.
 */

import { NOOP_TRACER, type Span, type Tracer } from '../core/tracing.ts';

// The contract lives in the core (core/tracing.ts) so every layer can take a parent span.
export type { Span, SpanAttributes, SpanKind, SpanOptions, TraceCarrier, Tracer } from '../core/tracing.ts';
export { NOOP_SPAN, NOOP_TRACER } from '../core/tracing.ts';

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
