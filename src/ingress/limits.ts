/**
 * The listener's protection from slow, oversized and too many requests: the `server` limits
 * resolved for this process, the connection and per-client concurrency gates, and the answer to a
 * malformed or timed-out request (node's clientError).
 */
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { HookrelayError } from '../core/errors.ts';
import { failBodyRead } from '../pipeline/body.ts';
import type { BodyRateLimits } from '../pipeline/body-rate.ts';
import { requestIdOf } from '../pipeline/call.ts';
import type { RelayContext } from '../pipeline/context.ts';
import { finishError, logRequest } from '../pipeline/finish.ts';
import { errorBody } from '../pipeline/reply.ts';
import { isStreaming } from '../pipeline/streaming.ts';
import { NO_ROUTE } from '../telemetry/metrics.ts';
import type { ClientTable } from './clients.ts';
import { autoMaxConnections } from './connections.ts';
import { closeAfterAnswer, isClosing } from './linger.ts';

/** The `server` settings that protect the listener from slow, oversized and too many requests (as configured). */
export interface ServerLimits {
  maxHeaderSize: number;
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  maxConcurrentRequests: number;
  firstByteTimeout: number;
  maxConnections: number | 'auto';
  minBodyRate: BodyRateLimits;
  perClient: {
    maxConnections: number | 'auto';
    maxConcurrentRequests: number | 'auto';
    ipv6Prefix: number;
    trustedProxies: string[];
  };
}

/** The limits with every `auto` worked out for this process. */
export interface ResolvedLimits extends Omit<ServerLimits, 'maxConnections' | 'perClient'> {
  maxConnections: number;
  perClient: ServerLimits['perClient'] & { maxConnections: number; maxConcurrentRequests: number };
}

/** `auto`: the open-file limit for the listener, a quarter of the whole for one client. */
export function resolveLimits(limits: ServerLimits, openFiles?: number): ResolvedLimits {
  const maxConnections =
    limits.maxConnections === 'auto' ? autoMaxConnections(openFiles) : limits.maxConnections;
  const quarter = (whole: number) => Math.max(1, Math.ceil(whole / 4));
  const { perClient } = limits;
  return {
    ...limits,
    // Node's header timeout runs from the moment a connection is accepted: it would cut first.
    firstByteTimeout: Math.min(limits.firstByteTimeout, limits.headersTimeout),
    maxConnections,
    perClient: {
      ...perClient,
      maxConnections:
        perClient.maxConnections === 'auto' ? quarter(maxConnections) : perClient.maxConnections,
      maxConcurrentRequests:
        perClient.maxConcurrentRequests === 'auto'
          ? quarter(limits.maxConcurrentRequests)
          : perClient.maxConcurrentRequests,
    },
  };
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** Seconds a caller refused for overload is asked to wait: long enough for in-flight requests to finish. */
const OVERLOAD_RETRY_AFTER = 1;

/**
 * Caps the requests to routes processed at once, in all and per client. Counting rides on the
 * relay's lifecycle hooks (begin/end around every routed request), so the hot path pays two
 * comparisons; the path is only matched a second time when a cap is reached, to answer 503 (the
 * relay is full) or 429 (this client has its share) for routes and let health, readiness,
 * metrics and 404s through. During a shutdown every request goes to the handler, which answers
 * 503 HOOKRELAY_ERR_SHUTTING_DOWN: that tells the caller more than an overload would.
 */
export function concurrencyGate(
  ctx: RelayContext,
  limits: ResolvedLimits,
  clients: ClientTable,
  createHandler: (ctx: RelayContext) => Handler,
): Handler {
  let active = 0;
  const perClient = limits.perClient.maxConcurrentRequests;
  const outer = ctx.lifecycle;
  const lifecycle: RelayContext['lifecycle'] = {
    // app.stop() flips the flag on the original object.
    get shuttingDown() {
      return outer.shuttingDown;
    },
    set shuttingDown(value: boolean) {
      outer.shuttingDown = value;
    },
    begin(req) {
      active++;
      if (perClient > 0) clients.begin(req);
      outer.begin(req);
    },
    end(req) {
      active--;
      if (perClient > 0) clients.end(req);
      outer.end(req);
    },
  };
  const handler = createHandler({ ...ctx, lifecycle });
  const max = limits.maxConcurrentRequests;
  return (req, res) => {
    const overClient = perClient > 0 && clients.inFlight(req) >= perClient;
    if ((active < max && !overClient) || outer.shuttingDown) {
      handler(req, res);
      return;
    }
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const method = req.method ?? 'GET';
    const match = ctx.routing.current.match(method, q === -1 ? url : url.slice(0, q));
    if (match.kind !== 'found') {
      handler(req, res);
      return;
    }
    const started = performance.now();
    const requestId = requestIdOf(req, ctx.requestIdHeader);
    const params = { retryAfter: OVERLOAD_RETRY_AFTER };
    const error = overClient
      ? new HookrelayError('HOOKRELAY_ERR_TOO_MANY_REQUESTS', { ...params, limit: perClient })
      : new HookrelayError('HOOKRELAY_ERR_OVERLOADED', { ...params, limit: max });
    // The body is not read: the answer closes the connection, after draining what still arrives.
    finishError(ctx, res, error, match.route.id, method, requestId, started, {
      'retry-after': String(OVERLOAD_RETRY_AFTER),
    });
  };
}

/** The request each socket is currently receiving, so a timeout can tell which phase it hit. */
const receiving = new WeakMap<Socket, IncomingMessage>();

/** Records the request a socket is receiving; call first thing for every request. */
export function trackRequest(req: IncomingMessage): void {
  receiving.set(req.socket, req);
}

const CLIENT_ERROR_REASONS = [
  'headers_timeout',
  'request_timeout',
  'body_too_slow',
  'headers_too_large',
  'malformed',
  'reset',
];

interface ParserError extends Error {
  code?: string;
}

/**
 * Node's `clientError` path: what its HTTP parser and timers refuse before (or while) a request
 * reaches a handler. Node would answer a bare `HTTP/1.1 408`/`431`/`400` itself; hookrelay answers
 * with its JSON error body instead, counts it and logs it. A body still being read by a route is
 * failed through the route's handler, so that answer carries the route.
 */
export function createClientErrorHandler(ctx: RelayContext, limits: ServerLimits) {
  // Zero-initialised, so dashboards and rate() see every reason before the first refusal.
  for (const reason of CLIENT_ERROR_REASONS) ctx.metrics.clientErrors.inc({ reason }, 0);
  return (err: ParserError, socket: Socket): void => {
    // The connection is ending after an answer already given: its lingering close owns it.
    if (isClosing(socket)) return;
    const code = err.code ?? '';
    const req = receiving.get(socket);
    const inRequest = req !== undefined && !req.complete;
    // A stream route's upload may outlast server.requestTimeout; its stream.idleTimeout applies instead.
    if (code === 'ERR_HTTP_REQUEST_TIMEOUT' && inRequest && isStreaming(req)) return;
    const classified = classify(code, inRequest, limits, err);
    ctx.metrics.clientErrors.inc({ reason: classified.reason });
    if (!classified.error) {
      socket.destroy();
      return;
    }
    const error = classified.error;
    if (inRequest && req && failBodyRead(req, error)) {
      // The route's handler answers (JSON error, metrics, log line) and closes the connection.
      return;
    }
    // A response already (partly) written for this connection: adding another would corrupt it.
    const current = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (!socket.writable || inRequest || current) {
      socket.destroySoon();
      return;
    }
    const requestId = randomUUID();
    const body = JSON.stringify(errorBody(error, null, requestId));
    socket.write(
      `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\n` +
        'content-type: application/json; charset=utf-8\r\n' +
        `content-length: ${Buffer.byteLength(body)}\r\n` +
        `${ctx.requestIdHeader}: ${requestId}\r\n` +
        `connection: close\r\n\r\n${body}`,
    );
    // Drained, not reset, so the caller reads the answer even while it is still sending.
    closeAfterAnswer(socket);
    socket.destroySoon();
    ctx.metrics.requests.inc({ route: NO_ROUTE, method: 'OTHER', status: String(error.status) });
    ctx.metrics.errors.inc({ route: NO_ROUTE, code: error.code });
    logRequest(
      ctx.logger,
      { requestId, route: NO_ROUTE, method: null, status: error.status },
      { code: error.code, error: error.message, reason: classified.reason, client: socket.remoteAddress },
    );
  };
}

function classify(
  code: string,
  inRequest: boolean,
  limits: ServerLimits,
  err: ParserError,
): { reason: string; error?: HookrelayError } {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    // Node reports both timeouts with this code; the phase is whether a request was under way.
    const phase = inRequest ? 'request' : 'headers';
    const timeout = inRequest ? limits.requestTimeout : limits.headersTimeout;
    return {
      reason: `${phase}_timeout`,
      error: new HookrelayError('HOOKRELAY_ERR_REQUEST_TIMEOUT', {
        phase: `server.${phase}Timeout`,
        timeout,
      }),
    };
  }
  if (code === 'HPE_HEADER_OVERFLOW') {
    return {
      reason: 'headers_too_large',
      error: new HookrelayError('HOOKRELAY_ERR_HEADERS_TOO_LARGE', { limit: limits.maxHeaderSize }),
    };
  }
  if (code.startsWith('HPE_')) {
    // llhttp's reason ("Invalid header value char"); never the bytes themselves.
    const detail = (err as ParserError & { reason?: string }).reason ?? code;
    return { reason: 'malformed', error: new HookrelayError('HOOKRELAY_ERR_BAD_REQUEST', { detail }) };
  }
  // ECONNRESET, EPIPE and the like: the caller is gone, nobody to answer.
  return { reason: 'reset' };
}
