import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { compileRoutes } from './config/compile.ts';
import type { Config } from './config/schema.ts';
import { Clients } from './delivery/client.ts';
import { createRouter } from './ingress/router.ts';
import { createHttpServer } from './ingress/server.ts';
import { createLogger, type Logger } from './log.ts';
import { createMetrics, type Metrics } from './metrics/index.ts';
import { VERSION } from './version.ts';

export interface AppOptions {
  logger?: Logger;
  /** prom-client's process/runtime metrics (on by default). */
  defaultMetrics?: boolean;
}

export interface App {
  server: Server;
  metrics: Metrics;
  logger: Logger;
  /** Resolves with the bound address once listening. */
  listen(port?: number, host?: string): Promise<AddressInfo>;
  /** Stop accepting, let in-flight requests finish within `grace` ms, then close pools. */
  stop(grace?: number): Promise<{ drained: boolean }>;
}

/** Wires config → compiled routes → router, clients, metrics → HTTP server. */
export function createApp(config: Config, options: AppOptions = {}): App {
  const logger = options.logger ?? createLogger(config.log.level);
  const metrics = createMetrics({ version: VERSION, defaultMetrics: options.defaultMetrics });
  const routes = compileRoutes(config);
  metrics.routes.set(routes.length);
  for (const route of routes) {
    // Zero-initialise so dashboards and rate() see every route before its first request.
    for (const result of ['delivered', 'rejected', 'failed', 'deadline']) {
      metrics.deliveries.inc({ route: route.id, result }, 0);
    }
    metrics.forwardRetries.inc({ route: route.id }, 0);
    metrics.inFlight.set({ route: route.id }, 0);
  }
  const clients = new Clients();
  let inFlight = 0;
  let idle: (() => void) | undefined;
  const lifecycle = {
    shuttingDown: false,
    begin() {
      inFlight++;
    },
    end() {
      inFlight--;
      if (inFlight === 0) idle?.();
    },
  };
  const server = createHttpServer(
    {
      match: createRouter(routes),
      metrics,
      logger,
      clients,
      requestIdHeader: config.server.requestIdHeader.toLowerCase(),
      lifecycle,
    },
    {
      metricsPath: config.metrics.enabled ? config.metrics.path : undefined,
      isReady: () => !lifecycle.shuttingDown,
    },
  );

  return {
    server,
    metrics,
    logger,
    listen(port = config.server.port, host = config.server.host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    async stop(grace = config.server.shutdownGrace) {
      lifecycle.shuttingDown = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let drained = inFlight === 0;
      if (!drained) {
        drained = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), grace);
          idle = () => {
            clearTimeout(timer);
            resolve(true);
          };
        });
      }
      // Keep-alive sockets that are now idle would hold server.close() open.
      server.closeIdleConnections();
      if (!drained) server.closeAllConnections();
      await closed;
      await clients.close();
      return { drained };
    },
  };
}
