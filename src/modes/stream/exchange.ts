/**
 * One streamed exchange, start to end: connect, pipe the caller's body up and the answer back,
 * bound it by the body limit and the idle timeout, retry a refused connection once, and settle
 * every way it can end exactly once.
 */
import type { Agent, ClientRequest, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { HookrelayError } from '../../core/errors.ts';
import { relayableResponseHeaders } from '../../core/headers.ts';
import { type DeliveryTrace, startAttemptSpan } from '../../delivery/attempt-span.ts';
import type { BodyRateWatch } from '../../pipeline/body-rate.ts';
import type { Metrics } from '../../telemetry/metrics.ts';
import type { Span } from '../../telemetry/tracing.ts';
import { Meter } from './meter.ts';
import { shouldRetry } from './retry.ts';

/** Pause before the single retry of a refused connection (`stream.retryRefused`). */
export const RETRY_REFUSED_DELAY = 200;

/** One proxied request as the exchange runs it; the proxy finds it again by the inbound request. */
export interface ExchangeHooks {
  /** The caller's headers are replaced by these right before http-proxy builds the upstream request. */
  headers: OutgoingHttpHeaders;
  onProxyReq(proxyReq: ClientRequest, socket: Socket): void;
  onProxyRes(proxyRes: IncomingMessage): void;
}

export interface ExchangeSpec {
  routeId: string;
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  method: string;
  headers: Record<string, string>;
  agent: Agent;
  requestIdHeader: string;
  requestId: string;
  limit: number;
  connectTimeout: number;
  idleTimeout: number;
  retryRefused: boolean;
  /** `server.minBodyRate`, for a caller that trickles or stalls its upload. */
  bodyRate?: BodyRateWatch | undefined;
  /** Tracing on: each attempt is a CLIENT span under the call's span, and its `traceparent` goes upstream. */
  trace?: DeliveryTrace | undefined;
}

/** How an exchange ended: an error to answer, an answer relayed (broken off if `error`), or a caller gone. */
export type Ending =
  | { kind: 'error'; error: HookrelayError }
  | { kind: 'response'; status: number; error?: HookrelayError }
  | { kind: 'client-closed' };

export type StreamOutcome = Ending & { attempts: number; bytesIn: number; bytesOut: number };

/** What the exchange needs of the proxy: start one upstream request, with hooks registered. */
export type StartAttempt = (
  spec: ExchangeSpec,
  hooks: ExchangeHooks,
  body: Meter,
  onError: (err: Error) => void,
) => void;

/**
 * Runs one streamed exchange: the caller's body is piped upstream only once the connection to the
 * target is up (so a refused connection leaves it unread and retryable), the answer is piped back,
 * and every way it can end — limit, idle timeout, refusal, a side that goes away — settles it once.
 */
export function runExchange(
  spec: ExchangeSpec,
  metrics: Metrics,
  start: StartAttempt,
): Promise<StreamOutcome> {
  const { req, res, routeId } = spec;
  return new Promise((resolve) => {
    let settled = false;
    let attempts = 0;
    let current:
      | { meter: Meter; proxyReq?: ClientRequest; piped: boolean; started: number; span?: Span }
      | undefined;
    let out: { bytes: number } | undefined;
    let responding = false;
    let callerGone = false;
    let targetBroke = false;
    const bytesIn = () => current?.meter.bytes ?? 0;
    const idle = setTimeout(() => onIdle(), spec.idleTimeout);
    // The relay is behind, not the caller, while bytes it read wait to go upstream (or before the
    // connection to the target is up, when nothing is read).
    const holding = () => {
      const a = current;
      if (!a?.piped) return true;
      return (
        a.meter.writableLength > 0 || a.meter.readableLength > 0 || (a.proxyReq?.writableLength ?? 0) > 0
      );
    };
    const watched = spec.bodyRate?.watch(req, (error) => onSlow(error), holding);
    const settle = (outcome: Ending) => {
      if (settled) return;
      settled = true;
      clearTimeout(idle);
      spec.bodyRate?.unwatch(watched);
      res.off('close', onCallerClose);
      if (current?.span) endSpan(current.span, outcome);
      resolve({ ...outcome, attempts, bytesIn: bytesIn(), bytesOut: out?.bytes ?? 0 });
    };
    const stopUpload = () => {
      if (current) req.unpipe(current.meter);
      current?.proxyReq?.destroy();
    };
    const attemptDone = (outcome: string) => {
      if (!current) return;
      metrics.forwardAttempts.inc({ route: routeId, outcome });
      metrics.upstreamDuration.observe(
        { route: routeId, outcome },
        (performance.now() - current.started) / 1000,
      );
    };
    const broke = (reason: string) => {
      targetBroke = true;
      stopUpload();
      res.destroy();
      const error = new HookrelayError('HOOKRELAY_ERR_UPSTREAM_ABORTED', { reason });
      settle({ kind: 'response', status: res.statusCode, error });
    };

    function onCallerClose() {
      if (res.writableFinished || targetBroke) return;
      callerGone = true;
      stopUpload();
      settle({ kind: 'client-closed' });
    }
    res.on('close', onCallerClose);

    function onIdle() {
      if (settled) return;
      if (responding) {
        broke(`nothing moved for stream.idleTimeout (${spec.idleTimeout} ms)`);
        return;
      }
      attemptDone('timeout');
      stopUpload();
      const params = { phase: 'stream.idleTimeout', timeout: spec.idleTimeout };
      settle({ kind: 'error', error: new HookrelayError('HOOKRELAY_ERR_UPSTREAM_TIMEOUT', params) });
    }

    function onSlow(error: HookrelayError) {
      if (settled) return;
      if (responding) {
        broke(error.message);
        return;
      }
      stopUpload();
      settle({ kind: 'error', error });
    }

    function onLimit() {
      if (settled) return;
      if (responding) {
        broke(`body over limits.body (${spec.limit} bytes)`);
        return;
      }
      stopUpload();
      settle({
        kind: 'error',
        error: new HookrelayError('HOOKRELAY_ERR_BODY_TOO_LARGE', { limit: spec.limit }),
      });
    }

    function onResponse(proxyRes: IncomingMessage) {
      if (settled) {
        proxyRes.destroy();
        return;
      }
      responding = true;
      idle.refresh();
      const status = proxyRes.statusCode ?? 502;
      attemptDone(`${Math.floor(status / 100)}xx`);
      const headers = relayableResponseHeaders(proxyRes.headers as Record<string, string | string[]>);
      // Streamed as is, so the target's length still frames it (relayableResponseHeaders drops it).
      const length = proxyRes.headers['content-length'];
      if (length !== undefined) headers['content-length'] = length;
      headers[spec.requestIdHeader] = spec.requestId;
      // Counted on 'data' beside a plain pipe rather than through a Transform and
      // stream.pipeline: pipeline's internal AbortController builds a DOMException (with a stack)
      // for every finished exchange, a measurable share of the CPU per small request.
      const counter = { bytes: 0 };
      out = counter;
      proxyRes.on('data', (chunk: Buffer) => {
        counter.bytes += chunk.length;
        idle.refresh();
      });
      const markBroken = () => {
        if (settled || callerGone) return;
        if (!proxyRes.complete) broke('the target closed the connection mid-answer');
      };
      proxyRes.once('aborted', markBroken);
      proxyRes.once('error', markBroken);
      proxyRes.once('close', markBroken);
      res.once('finish', () => {
        if (settled) return;
        // The target answered before reading the whole upload: what is left is drained, not kept.
        if (!req.complete && current) req.unpipe(current.meter);
        settle({ kind: 'response', status });
      });
      res.writeHead(status, headers);
      proxyRes.pipe(res);
    }

    function attempt() {
      if (settled) return;
      attempts++;
      const body = new Meter(spec.limit, () => idle.refresh(), onLimit);
      const a: NonNullable<typeof current> = { meter: body, piped: false, started: performance.now() };
      current = a;
      let { headers } = spec;
      if (spec.trace) {
        a.span = startAttemptSpan(spec.trace, spec, attempts);
        const carrier = a.span.carrier();
        if (carrier) {
          headers = { ...headers, traceparent: carrier.traceparent };
          if (carrier.tracestate) headers.tracestate = carrier.tracestate;
          else delete headers.tracestate;
        }
      }
      const hooks: ExchangeHooks = {
        headers,
        onProxyReq(proxyReq, socket) {
          if (a !== current) return;
          a.proxyReq = proxyReq;
          const pipe = () => {
            if (settled || a !== current || a.piped) return;
            a.piped = true;
            req.pipe(body);
          };
          // The body is read only once the connection is up: a refusal leaves it unread (retryable).
          if (socket.connecting) socket.once('connect', pipe);
          else pipe();
        },
        onProxyRes: onResponse,
      };
      start(spec, hooks, body, (err) => onError(a, err));
    }

    function onError(a: NonNullable<typeof current>, err: Error & { code?: string }) {
      if (settled || a !== current) return;
      if (callerGone || (req.destroyed && !req.complete)) {
        onCallerClose();
        return;
      }
      if (responding) {
        // A write error once the answer is under way (the target stopped reading): the answer decides.
        req.unpipe(a.meter);
        return;
      }
      const timedOut = err.code === 'ECONNECT_TIMEOUT';
      attemptDone(timedOut ? 'timeout' : 'network_error');
      const state = {
        retryRefused: spec.retryRefused,
        attempts,
        bodyBytesRead: bytesIn(),
        bodyPiped: a.piped,
      };
      if (shouldRetry(err, state)) {
        metrics.forwardRetries.inc({ route: routeId });
        if (a.span) {
          a.span.recordException(new Error(describe(err)));
          a.span.setAttributes({ 'error.type': err.code ?? 'error', 'hookrelay.retry_reason': 'refused' });
          a.span.end();
          delete a.span;
        }
        // A target that refuses is often restarting: a short pause gives the one retry a chance.
        setTimeout(attempt, RETRY_REFUSED_DELAY).unref();
        return;
      }
      stopUpload();
      const error = timedOut
        ? new HookrelayError('HOOKRELAY_ERR_UPSTREAM_TIMEOUT', {
            phase: 'timeouts.connect',
            timeout: spec.connectTimeout,
          })
        : new HookrelayError('HOOKRELAY_ERR_UPSTREAM_UNREACHABLE', { attempts, reason: describe(err) });
      settle({ kind: 'error', error });
    }

    attempt();
  });
}

/** Ends the last attempt's span with how the exchange ended (a status, an error code, a caller gone). */
function endSpan(span: Span, outcome: Ending): void {
  if (outcome.kind === 'error') {
    span.recordException(outcome.error);
    span.setAttributes({ 'error.type': outcome.error.code });
  } else if (outcome.kind === 'client-closed') {
    span.setAttributes({ 'error.type': 'HOOKRELAY_ERR_CLIENT_CLOSED' });
    span.setError('the caller went away');
  } else {
    span.setAttributes({ 'http.response.status_code': outcome.status });
    if (outcome.error) {
      span.setAttributes({ 'error.type': outcome.error.code });
      span.setError(outcome.error.message);
    } else if (outcome.status >= 400) span.setError(String(outcome.status));
  }
  span.end();
}

function describe(err: Error & { code?: string }): string {
  if (err.code === 'ECONNREFUSED') return 'connection refused';
  if (err.code === 'ECONNRESET') return 'the target closed the connection before answering';
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return `host not found (${err.code})`;
  return err.code ? `${err.message} (${err.code})` : err.message;
}
