/**
 * Wiring: a running relay from a loaded configuration. Compiles the routes, starts the delivery
 * modes (their pools, queue workers and proxies), the relay and admin listeners, metrics and logs,
 * and stops them in order on a graceful shutdown.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdminServer } from './admin/server.ts';
import { compileRoutes } from './config/compile.ts';
import type { Config } from './config/schema.ts';
import { secretValuesOf } from './config/secret-provenance.ts';
import { VERSION } from './core/version.ts';
import { Clients } from './delivery/client.ts';
import { createHttpServer, protectAdminListener } from './ingress/server.ts';
import { workerRoute } from './modes/async/worker-route.ts';
import { type QueueAccess, queuedRoutes, startModes } from './modes/index.ts';
import { ParsePool } from './parsing/pool.ts';
import { createRouter } from './pipeline/router.ts';
import { createDriver, createReplayStore } from './queue/index.ts';
import { preflight } from './queue/preflight.ts';
import { Queue } from './queue/queue.ts';
import { DeliveryWorkers } from './queue/worker.ts';
import { createLogger, type Logger } from './telemetry/log.ts';
import { createMetrics, type Metrics } from './telemetry/metrics.ts';

export interface AppOptions {
  logger?: Logger;
  /** prom-client's process/runtime metrics (on by default). */
  defaultMetrics?: boolean;
}

export interface App {
  server: Server;
  /** The admin API listener, when a route queues and `admin.enabled`. */
  admin: Server | undefined;
  /** The durable queue, when a route is async or hybrid. */
  queue: Queue | undefined;
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
  // No thread starts until a large body arrives (parsing/pool.ts).
  const pool = new ParsePool(config.parsing, { metrics, logger });
  const clients = new Clients();
  const routes = compileRoutes(config, { pool, metrics, clients, logger });
  const secrets = secretValuesOf(config);
  metrics.routes.set(routes.length);
  for (const route of routes) {
    // Zero-initialise so dashboards and rate() see every route before its first request.
    for (const result of ['delivered', 'rejected', 'failed', 'deadline']) {
      metrics.deliveries.inc({ route: route.id, result }, 0);
    }
    metrics.forwardRetries.inc({ route: route.id }, 0);
    metrics.forwardReconnects.inc({ route: route.id }, 0);
    if ('fanout' in route && route.fanout) metrics.targetsUnmatched.inc({ route: route.id }, 0);
    metrics.inFlight.set({ route: route.id }, 0);
  }
  // The routes that queue: a fan-out route's targets, each under its own id `<route>/<target>`.
  const queued = queuedRoutes(routes);
  for (const route of queued) {
    for (const outcome of ['delivered', 'dead', 'retry', 'replayed']) {
      metrics.queueFinished.inc({ route: route.id, outcome }, 0);
    }
    for (const result of ['accepted', 'duplicate', 'full', 'failed']) {
      metrics.queueEnqueued.inc({ route: route.id, result }, 0);
    }
  }
  const requestIdHeader = config.server.requestIdHeader.toLowerCase();
  let queue: Queue | undefined;
  let workers: DeliveryWorkers | undefined;
  let admin: Server | undefined;
  let queueAccess: QueueAccess | undefined;
  if (queued.length > 0) {
    const driver = createDriver(config.queue, logger);
    const limits = new Map(
      queued.map((r) => [r.id, { maxPending: r.queue.maxPending, maxPendingBytes: r.queue.maxPendingBytes }]),
    );
    const q = new Queue(driver, config.queue, limits, metrics, logger);
    const w = new DeliveryWorkers({ driver, routes: queued.map(workerRoute), clients, metrics, logger });
    queue = q;
    workers = w;
    queueAccess = { offer: (delivery) => q.offer(delivery), notify: (routeId) => w.notify(routeId) };
    if (config.admin.enabled) {
      admin = createAdminServer({
        driver,
        token: config.admin.token,
        host: config.admin.host,
        allowedHosts: config.admin.allowedHosts,
        secrets,
        logger,
        onReplay: (routeIds) => {
          for (const id of routeIds) w.notify(id);
        },
      });
      // Silent connections, a connection cap and the timeouts, as on the main listener.
      protectAdminListener(admin, config.server, { metrics, logger });
    }
  }
  // Replay windows shared by every instance when the store is (redis); else each process its own.
  const remembers = routes.some((route) => route.verify.some((check) => check.verifier.replay));
  const replay = remembers ? createReplayStore(config.queue) : undefined;
  const modes = startModes(routes, {
    clients,
    metrics,
    logger,
    requestIdHeader,
    secrets,
    queue: queueAccess,
  });
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
    { match: createRouter(routes), modes, metrics, logger, requestIdHeader, secrets, lifecycle, replay },
    {
      metricsPath: config.metrics.enabled ? config.metrics.path : undefined,
      // A store that cannot take writes or replay claims (Redis down) makes the instance
      // unready: a load balancer sends callers to one that can.
      isReady: () =>
        !lifecycle.shuttingDown && (queue?.driver.readiness?.().ready ?? true) && (replay?.ready() ?? true),
      limits: config.server,
    },
  );

  return {
    server,
    admin,
    queue,
    metrics,
    logger,
    async listen(port = config.server.port, host = config.server.host) {
      if (queue && workers) {
        await preflight(
          queue.driver,
          config.queue,
          queued.map((r) => ({
            id: r.id,
            limits: { concurrency: r.queue.concurrency, rateLimit: r.queue.rateLimit },
          })),
          logger,
        );
        // Recover first: deliveries a previous run acknowledged are due before new traffic.
        await queue.start();
        workers.start();
      }
      if (admin) {
        const a = await listenOn(admin, config.admin.port, config.admin.host);
        logger.info({ host: a.address, port: a.port }, 'admin API listening');
      }
      return listenOn(server, port, host);
    },
    async stop(grace = config.server.shutdownGrace) {
      lifecycle.shuttingDown = true;
      const closed = closeListener(server);
      // A kept-alive connection idle at this moment may already carry the caller's next request:
      // closing it now would reset that request. Those that do get 503 SHUTTING_DOWN with
      // `Connection: close`; those still idle after a short drain are closed.
      const idleDrain = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, idleDrainMs(grace));
        void closed.then(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      void idleDrain.then(() => server.closeIdleConnections());
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
      await idleDrain;
      server.closeIdleConnections();
      if (!drained) server.closeAllConnections();
      await closed;
      if (workers && queue) {
        // Deliveries in flight finish or give their lease back; nothing acknowledged is lost.
        const { released } = await workers.stop(Math.max(1_000, grace / 2));
        if (released > 0) logger.info({ released }, 'released in-flight deliveries to the queue');
        queue.stop();
        await queue.driver.close();
      }
      if (admin?.listening) {
        admin.closeAllConnections();
        await new Promise<void>((resolve) => admin.close(() => resolve()));
      }
      // Token requests still in flight (OAuth2) are cancelled; nothing is waiting for them now.
      await Promise.all(
        [...routes, ...queued].map((route) =>
          'forward' in route ? route.forward.auth?.close?.() : undefined,
        ),
      );
      await clients.close();
      await replay?.close();
      await Promise.all([...modes.values()].map((mode) => mode.close?.()));
      await pool.close();
      return { drained };
    },
  };
}

/**
 * Stops accepting connections and resolves once the last one closed. node:http's close() would
 * also close every idle keep-alive connection at once, resetting a request already on its way
 * on one of them; those are closed after the idle drain instead.
 */
function closeListener(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.closeIdleConnections = () => {};
    try {
      server.close(() => resolve());
    } finally {
      delete (server as Partial<Server>).closeIdleConnections;
    }
  });
}

/** How long connections idle when a shutdown begins get to bring a request: 1 s, less when the grace is short. */
function idleDrainMs(grace: number): number {
  return Math.min(1_000, Math.floor(grace / 10));
}

function listenOn(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}
