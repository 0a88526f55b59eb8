/**
 * The relay's HTTP server: configured routes matched by our own router, everything else (health,
 * readiness, metrics, the JSON 404) by fallback.ts; the listener's limits applied.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { BodyRateWatch } from '../pipeline/body-rate.ts';
import type { RelayContext } from '../pipeline/context.ts';
import { createLifecycle } from '../pipeline/lifecycle.ts';
import type { Logger } from '../telemetry/log.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { ClientTable } from './clients.ts';
import { adminMaxConnections, guardConnections } from './connections.ts';
import { createFallback } from './fallback.ts';
import {
  concurrencyGate,
  createClientErrorHandler,
  resolveLimits,
  type ServerLimits,
  trackRequest,
} from './limits.ts';
import { isClosing } from './linger.ts';
import { closingResponse, countRequest } from './response.ts';

export interface ServerOptions {
  metricsPath: string | undefined;
  isReady: () => boolean;
  /** `server` settings against slow, oversized and too many requests (defaults: DEFAULT_LIMITS). */
  limits?: Partial<ServerLimits>;
}

/** The schema's defaults, for embedders and tests that build a server without a config. */
export const DEFAULT_LIMITS: ServerLimits = {
  maxHeaderSize: 16 * 1024,
  headersTimeout: 10_000,
  requestTimeout: 60_000,
  keepAliveTimeout: 65_000,
  maxConcurrentRequests: 1_000,
  firstByteTimeout: 5_000,
  maxConnections: 'auto',
  minBodyRate: { bytesPerSecond: 500, grace: 10_000 },
  perClient: { maxConnections: 'auto', maxConcurrentRequests: 'auto', ipv6Prefix: 64, trustedProxies: [] },
};

/**
 * The HTTP server. Configured routes are matched first by our own router; everything else —
 * health, readiness, metrics, and the JSON 404 — is answered by fallback.ts.
 */
export function createHttpServer(ctx: RelayContext, options: ServerOptions): Server {
  const fallback = createFallback(ctx, options);
  const limits = resolveLimits({ ...DEFAULT_LIMITS, ...options.limits });
  const isShuttingDown = () => ctx.lifecycle.shuttingDown;
  const clients = new ClientTable(limits.perClient);
  const bodyRate = new BodyRateWatch(limits.minBodyRate, ctx.metrics);
  const relay = concurrencyGate({ ...ctx, bodyRate }, limits, clients, (gated) =>
    createLifecycle(gated, fallback),
  );
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    // Pipelined behind an answer that closes the connection (RFC 9112 §9.6): not processed.
    if (isClosing(req.socket)) {
      req.resume();
      return;
    }
    countRequest(req);
    trackRequest(req);
    relay(req, res);
  };
  const server = createServer(
    {
      keepAliveTimeout: limits.keepAliveTimeout,
      // Node's defaults (300 s for the request) would let a slow sender hold a socket far too long.
      headersTimeout: limits.headersTimeout,
      requestTimeout: limits.requestTimeout,
      maxHeaderSize: limits.maxHeaderSize,
      connectionsCheckingInterval: checkingInterval(limits),
      ServerResponse: closingResponse(isShuttingDown),
    },
    handler,
  );
  server.on('clientError', createClientErrorHandler(ctx, limits));
  guardConnections(
    server,
    {
      firstByteTimeout: limits.firstByteTimeout,
      maxConnections: limits.maxConnections,
      perClientMaxConnections: limits.perClient.maxConnections,
    },
    { metrics: ctx.metrics, logger: ctx.logger, listener: 'main', clients },
  );
  server.on('listening', () => bodyRate.start());
  server.on('close', () => bodyRate.stop());
  return server;
}

/**
 * Timeouts are enforced by a periodic sweep (30 s by default): sweep often enough that a timeout
 * means roughly what it says.
 */
function checkingInterval(limits: Pick<ServerLimits, 'headersTimeout' | 'requestTimeout'>): number {
  return Math.min(
    1_000,
    Math.max(25, Math.floor(Math.min(limits.headersTimeout, limits.requestTimeout) / 4)),
  );
}

/**
 * The connection protections of the main listener, for the admin API's: the silent-connection
 * bound, a small cap on open connections (operators and scripts need a few), and the same header,
 * request and keep-alive timeouts. Call before it listens.
 */
export function protectAdminListener(
  server: Server,
  limits: Partial<ServerLimits> | undefined,
  deps: { metrics: Metrics; logger: Logger },
): void {
  const resolved = resolveLimits({ ...DEFAULT_LIMITS, ...limits });
  server.headersTimeout = resolved.headersTimeout;
  server.requestTimeout = resolved.requestTimeout;
  server.keepAliveTimeout = resolved.keepAliveTimeout;
  // Read by Node when the server starts listening.
  (server as Server & { connectionsCheckingInterval?: number }).connectionsCheckingInterval =
    checkingInterval(resolved);
  guardConnections(
    server,
    {
      firstByteTimeout: resolved.firstByteTimeout,
      maxConnections: adminMaxConnections(),
      perClientMaxConnections: 0,
    },
    { ...deps, listener: 'admin' },
  );
}
