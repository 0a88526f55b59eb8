import { createServer, type Server } from 'node:http';
import express from 'express';
import { HookrelayError } from '../errors.ts';
import { methodLabel, NO_ROUTE } from '../metrics/index.ts';
import { createRelayHandler, type RelayContext, requestIdOf } from './relay.ts';
import { sendError } from './reply.ts';

export interface ServerOptions {
  metricsPath: string | undefined;
  isReady: () => boolean;
}

/**
 * The HTTP server. Configured routes are matched first by our own router (the hot path stays off
 * express's middleware chain); everything else — health, readiness, metrics, and the JSON 404 —
 * is an express app.
 */
export function createHttpServer(ctx: RelayContext, options: ServerOptions): Server {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const ready = options.isReady();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'shutting down' });
  });
  if (options.metricsPath) {
    const { registry } = ctx.metrics;
    app.get(options.metricsPath, async (_req, res, next) => {
      try {
        const text = await registry.metrics();
        res.setHeader('content-type', registry.contentType);
        res.send(text);
      } catch (error) {
        next(error);
      }
    });
  }
  app.use((req, res) => {
    const started = performance.now();
    const requestId = requestIdOf(req, ctx.requestIdHeader);
    const method = req.method;
    const path = req.path;
    const error = new HookrelayError('HOOKRELAY_ERR_ROUTE_NOT_FOUND', { method, path: truncate(path) });
    sendError(res, error, null, requestId, ctx.requestIdHeader);
    ctx.metrics.requests.inc({ route: NO_ROUTE, method: methodLabel(method), status: '404' });
    ctx.metrics.requestDuration.observe(
      { route: NO_ROUTE, method: methodLabel(method) },
      (performance.now() - started) / 1000,
    );
    ctx.metrics.errors.inc({ route: NO_ROUTE, code: error.code });
    ctx.logger.info(
      {
        requestId,
        route: NO_ROUTE,
        method,
        status: 404,
        attempts: 0,
        durationMs: ms(started),
        code: error.code,
      },
      'request',
    );
  });
  const handler = createRelayHandler(ctx, app);
  const server = createServer({ keepAliveTimeout: 65_000 }, handler);
  // Node's default 300 s requestTimeout would let a slow sender hold a socket open far too long.
  server.requestTimeout = 120_000;
  server.headersTimeout = 60_000;
  return server;
}

function ms(started: number): number {
  return Math.round((performance.now() - started) * 1e3) / 1e3;
}

function truncate(value: string): string {
  return value.length > 200 ? `${value.slice(0, 200)}…` : value;
}
