/**
 * The OpenTelemetry SDK behind the tracer of tracing.ts: a BasicTracerProvider with a batch
 * processor exporting OTLP over HTTP (JSON or protobuf), W3C trace context for `traceparent` and
 * `tracestate`, the resource from `OTEL_SERVICE_NAME`/`OTEL_RESOURCE_ATTRIBUTES` (service name
 * `hookrelay` otherwise). Imported only when tracing is on: nothing here loads when it is off.
 * No global provider or context manager is registered: parents are passed explicitly, so the
 * relay's spans never mix with a host application's.
 */
import {
  type Attributes,
  type Context,
  SpanKind as OtelKind,
  type Span as OtelSpan,
  ROOT_CONTEXT,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapSetter,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { VERSION } from '../core/version.ts';
import type { Span, SpanKind, SpanOptions, TraceCarrier, Tracer, TracingSettings } from './tracing.ts';

const KINDS: Record<SpanKind, OtelKind> = {
  server: OtelKind.SERVER,
  client: OtelKind.CLIENT,
  internal: OtelKind.INTERNAL,
  consumer: OtelKind.CONSUMER,
  producer: OtelKind.PRODUCER,
};

type Carrier = Record<string, string | string[] | undefined>;

const getter: TextMapGetter<Carrier> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};
const setter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

const propagator = new W3CTraceContextPropagator();

function remote(carrier: TraceCarrier): Context {
  return propagator.extract(ROOT_CONTEXT, carrier as unknown as Carrier, getter);
}

class SdkSpan implements Span {
  readonly traceId: string;
  readonly spanId: string;
  readonly span: OtelSpan;
  constructor(span: OtelSpan) {
    this.span = span;
    const context = span.spanContext();
    this.traceId = context.traceId;
    this.spanId = context.spanId;
  }
  setAttributes(attributes: Attributes): void {
    this.span.setAttributes(attributes);
  }
  recordException(error: unknown): void {
    // The type and message only: a stack names our files, never the caller's data, but is noise.
    const name = error instanceof Error ? error.name : 'Error';
    const message = error instanceof Error ? error.message : String(error);
    this.span.recordException({ name, message });
    this.span.setStatus({ code: SpanStatusCode.ERROR, message });
  }
  setError(message?: string): void {
    this.span.setStatus(
      message === undefined ? { code: SpanStatusCode.ERROR } : { code: SpanStatusCode.ERROR, message },
    );
  }
  end(): void {
    this.span.end();
  }
  carrier(): TraceCarrier {
    const out: Record<string, string> = {};
    propagator.inject(trace.setSpan(ROOT_CONTEXT, this.span), out, setter);
    return { traceparent: out.traceparent ?? '', ...(out.tracestate ? { tracestate: out.tracestate } : {}) };
  }
}

export function createOtelTracer(settings: TracingSettings): Tracer {
  const detected = detectResources({ detectors: [envDetector] });
  const base = resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'hookrelay', [ATTR_SERVICE_VERSION]: VERSION });
  // Precedence: the `tracing:` block's serviceName, then OTEL_SERVICE_NAME/OTEL_RESOURCE_ATTRIBUTES.
  let resource = base.merge(detected);
  if (settings.serviceName)
    resource = resource.merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName }));
  const exporterOptions = settings.url ? { url: settings.url } : {};
  const exporter =
    settings.protocol === 'http/json'
      ? new JsonExporter(exporterOptions)
      : new ProtoExporter(exporterOptions);
  const provider = new BasicTracerProvider({
    resource,
    // Unset: the SDK reads OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG (parent-based always-on by default).
    ...(settings.sampleRatio !== undefined
      ? { sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.sampleRatio) }) }
      : {}),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('hookrelay', VERSION);
  return {
    enabled: true,
    startSpan(name: string, options: SpanOptions = {}): Span {
      const { parent } = options;
      const context =
        parent === undefined
          ? ROOT_CONTEXT
          : parent instanceof SdkSpan
            ? trace.setSpan(ROOT_CONTEXT, parent.span)
            : 'traceparent' in parent
              ? remote(parent)
              : ROOT_CONTEXT;
      const links = options.links
        ?.map((link) => trace.getSpanContext(remote(link)))
        .filter((link) => link !== undefined)
        .map((context) => ({ context }));
      const span = tracer.startSpan(
        name,
        {
          kind: KINDS[options.kind ?? 'internal'],
          ...(options.attributes ? { attributes: options.attributes } : {}),
          ...(links && links.length > 0 ? { links } : {}),
        },
        context,
      );
      return new SdkSpan(span);
    },
    extract(headers) {
      const traceparent = headers.traceparent;
      if (typeof traceparent !== 'string') return undefined;
      // Only a well-formed context is continued; a malformed one starts a new trace.
      if (trace.getSpanContext(remote({ traceparent })) === undefined) return undefined;
      const tracestate = headers.tracestate;
      return typeof tracestate === 'string' && tracestate !== ''
        ? { traceparent, tracestate }
        : { traceparent };
    },
    shutdown: () => provider.shutdown(),
  };
}
