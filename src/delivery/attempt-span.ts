/**
 * The CLIENT span of one delivery attempt (issue 16), the same for sync delivery and queued
 * attempts: named for the method, with the target's origin only (`server.address`, `server.port`,
 * `url.scheme`: never its path or query, which may carry secrets), the attempt number, the answer's
 * status and, when the attempt is retried, why. The target receives this span's `traceparent`.
 */
import type { OutboundRequest } from '../core/message.ts';
import type { Span, SpanOptions, Tracer } from '../telemetry/tracing.ts';
import { AttemptError, type TargetResponse } from './attempt.ts';

/** Tracing of one delivery: the tracer and what each attempt's span descends from or links to. */
export interface DeliveryTrace {
  tracer: Tracer;
  /** The sync call's SERVER span (parent), or the links of a queued attempt (a new trace). */
  parent?: Span | undefined;
  links?: SpanOptions['links'];
}

export function startAttemptSpan(
  trace: DeliveryTrace,
  request: Pick<OutboundRequest, 'method' | 'url'>,
  attempt: number,
): Span {
  const { url } = request;
  const scheme = url.protocol.slice(0, -1);
  const port = url.port ? Number(url.port) : scheme === 'https' ? 443 : 80;
  return trace.tracer.startSpan(request.method, {
    kind: 'client',
    parent: trace.parent,
    ...(trace.links ? { links: trace.links } : {}),
    attributes: {
      'http.request.method': request.method,
      'server.address': url.hostname,
      'server.port': port,
      'url.scheme': scheme,
      'hookrelay.attempt': attempt,
    },
  });
}

/** The request with this attempt's `traceparent`/`tracestate` (a copy: the stored one is shared). */
export function withTraceContext(request: OutboundRequest, span: Span): OutboundRequest {
  const carrier = span.carrier();
  if (!carrier) return request;
  const headers: Record<string, string> = { ...request.headers, traceparent: carrier.traceparent };
  if (carrier.tracestate) headers.tracestate = carrier.tracestate;
  else delete headers.tracestate;
  return { ...request, headers };
}

/** Ends the attempt's span with its answer or error; `retrying`: the attempt will be repeated. */
export function endAttemptSpan(
  span: Span,
  last: TargetResponse | Error | undefined,
  retrying: boolean,
): void {
  if (last instanceof Error) {
    span.recordException(last);
    if (last instanceof AttemptError) span.setAttributes({ 'error.type': last.kind });
  } else if (last) {
    span.setAttributes({ 'http.response.status_code': last.status });
    if (last.status >= 400) span.setError(String(last.status));
  }
  if (retrying) span.setAttributes({ 'hookrelay.retry_reason': retryReason(last) });
  span.end();
}

/** A bounded word for why an attempt is retried: its error kind or the status it got. */
export function retryReason(last: TargetResponse | Error | undefined): string {
  if (last === undefined) return 'none';
  if (last instanceof AttemptError) return last.kind;
  if (last instanceof Error) return 'error';
  return `status_${last.status}`;
}
