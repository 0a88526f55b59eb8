/**
 * Wiring: a running relay from a loaded configuration. Compiles the routes (runtime/generation.ts),
 * starts the delivery modes, the queue and its workers, the relay and admin listeners, metrics
 * and logs; reloads the configuration as a swap (runtime/reload.ts); and stops them in order on a
 * graceful shutdown.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ReloadReport, ReloadTrigger } from './admin/live.ts';
import { createAdminServer } from './admin/server.ts';
import type { Config } from './config/schema.ts';
import { VERSION } from './core/version.ts';
import { Clients } from './delivery/client.ts';
import { createHttpServer, protectAdminListener } from './ingress/server.ts';
import { workerRoute } from './modes/async/worker-route.ts';
import type { QueueAccess } from './modes/index.ts';
import { ParsePool } from './parsing/pool.ts';
import { createDriver, createReplayStore } from './queue/index.ts';
import { preflight } from './queue/preflight.ts';
import { Queue } from './queue/queue.ts';
import { DeliveryWorkers } from './queue/worker.ts';
import {
  closeGeneration,
  compileGeneration,
  configHash,
  drained,
  type Generation,
  initRouteMetrics,
  startGeneration,
} from './runtime/generation.ts';
import { Reloader } from './runtime/reload.ts';
import { routeViews } from './runtime/views.ts';
import { createLogger, type Logger } from './telemetry/log.ts';
import { createMetrics, type Metrics } from './telemetry/metrics.ts';
import { createTracer, NOOP_TRACER, type Tracer, tracingSettings } from './telemetry/tracing.ts';
import type { SharedReplayStore } from './verifiers/replay.ts';

export interface AppOptions {
  logger?: Logger;
  /** prom-client's process/runtime metrics (on by default). */
  defaultMetrics?: boolean;
  /** The file the configuration was loaded from: what a reload reads again. Without it, reloads are refused. */
  file?: string | undefined;
  /** The file's bytes as loaded (for its hash); read from `file` when not given. */
  source?: string | undefined;
}

export interface App {
  server: Server;
  /** The admin listener, when `admin.enabled` is true, or `auto` and a route queues. */
  readonly admin: Server | undefined;
  /** The durable queue, once a route is async or hybrid. */
  readonly queue: Queue | undefined;
  metrics: Metrics;
  logger: Logger;
  /** The configuration serving new requests now. */
  readonly config: Config;
  /** Resolves with the bound address once listening. */
  listen(port?: number, host?: string): Promise<AddressInfo>;
  /** Reads the file again and swaps to it when valid (docs/reload.md); never throws for an invalid file. */
  reload(trigger?: ReloadTrigger): Promise<ReloadReport>;
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
  // The no-op tracer until listen() has loaded the SDK, when tracing is on (telemetry/tracing.ts).
  const tracer: { current: Tracer } = { current: NOOP_TRACER };
  const tracing = tracingSettings(config.tracing);
  const compileRuntime = { pool, metrics, clients, logger };
  const first = compileGeneration(config, initialHash(config, options), compileRuntime);
  // Every secret of every configuration loaded: a rotated-out secret is no less secret.
  const secrets = first.secrets.growable();
  const routing: { current: Generation } = { current: first };
  const requestIdHeader = config.server.requestIdHeader.toLowerCase();
  let queue: Queue | undefined;
  let workers: DeliveryWorkers | undefined;
  let admin: Server | undefined;
  /** The configuration whose `queue` settings the open queue was built with. */
  let queueOpenedWith: Config | undefined;
  let listening = false;
  const queueAccess: QueueAccess = {
    offer: (delivery) => queue!.offer(delivery),
    notify: (routeId) => workers?.notify(routeId),
  };

  /** Opens the queue and its workers (with the settings of the configuration that first needs it). */
  const openQueue = (generation: Generation) => {
    queueOpenedWith = generation.config;
    const driver = createDriver(generation.config.queue, logger);
    queue = new Queue(driver, generation.config.queue, queueLimits(generation), metrics, logger);
    workers = new DeliveryWorkers({
      driver,
      routes: generation.queued.map(workerRoute),
      clients,
      metrics,
      logger,
      tracing: tracer,
    });
  };
  /** Starts the queue and workers: recovery first, so what a previous run acknowledged is due before new traffic. */
  const startQueue = async (generation: Generation) => {
    await preflight(queue!.driver, generation.config.queue, generation.queued.map(limitsOf), logger);
    await queue!.start();
    workers!.start();
  };
  const wantsAdmin = (generation: Generation) =>
    config.admin.enabled === true || (config.admin.enabled === 'auto' && generation.queued.length > 0);
  const reloader = new Reloader({
    file: options.file,
    builtFrom: (next) => ({ ...config, queue: queueOpenedWith?.queue ?? next.queue }),
    running: () => routing.current,
    compile: (next, hash) => compileGeneration(next, hash, compileRuntime),
    apply: (next) => swap(next),
    metrics,
    logger,
  });
  const createAdmin = () => {
    const server = createAdminServer({
      driver: () => queue?.driver,
      live: {
        config: () => ({
          file: options.file ?? '(built in)',
          hash: routing.current.hash,
          loadedAt: routing.current.loadedAt,
          lastReload: reloader.last,
        }),
        routes: () =>
          routeViews(
            routing.current.routes,
            routing.current.paths,
            secrets,
            (id) => workers?.circuit(id) ?? 'closed',
          ),
        reload: (trigger) => reloader.reload(trigger),
      },
      token: config.admin.token,
      host: config.admin.host,
      allowedHosts: config.admin.allowedHosts,
      secrets,
      logger,
      onReplay: (routeIds) => {
        for (const id of routeIds) workers?.notify(id);
      },
    });
    // Silent connections, a connection cap and the timeouts, as on the main listener.
    protectAdminListener(server, config.server, { metrics, logger });
    return server;
  };
  const listenAdmin = async () => {
    const a = await listenOn(admin!, config.admin.port, config.admin.host);
    logger.info({ host: a.address, port: a.port }, 'admin API listening');
  };

  /**
   * A reload's new generation, compiled: opens the queue when it is the first to queue, points
   * the workers at its queued routes, starts its modes, swaps the one reference, then retires the
   * old generation (its calls finish on it, within the shutdown grace) and closes what only it used.
   */
  async function swap(next: Generation): Promise<void> {
    if (next.queued.length > 0 && !queue) {
      openQueue(next);
      if (listening) {
        try {
          await startQueue(next);
        } catch (error) {
          // Refused (preflight) or unreachable: nothing was swapped, so nothing keeps this queue.
          const opened = queue!;
          queue = undefined;
          workers = undefined;
          queueOpenedWith = undefined;
          opened.stop();
          await opened.driver.close().catch(() => {});
          throw error;
        }
      }
    } else if (queue && workers) {
      queue.setLimits(queueLimits(next));
      if (queue.driver.configureRoute) {
        for (const route of next.queued) await queue.driver.configureRoute(route.id, limitsOf(route).limits);
      }
    }
    secrets.absorb(next.secrets);
    rememberIn(next);
    startGeneration(next, { clients, metrics, logger, requestIdHeader, secrets, queue: queueAccess });
    const old = routing.current;
    const sweep = clients.mark();
    routing.current = next;
    initRouteMetrics(next, metrics);
    logger.level = next.config.log.level;
    if (listening) {
      if (next.config.server.watchConfig) reloader.watch();
      else reloader.unwatch();
    }
    const workersMoved = workers?.update(next.queued.map(workerRoute)) ?? Promise.resolve();
    if (!admin && wantsAdmin(next)) {
      admin = createAdmin();
      // The new configuration serves already: a listener that cannot bind is logged, and the
      // next reload tries again.
      if (listening) {
        await listenAdmin().catch((error: unknown) => {
          admin = undefined;
          logger.error({ err: error, port: config.admin.port }, 'admin API cannot listen');
        });
      }
    }
    void retire(old, workersMoved, sweep);
  }

  /** The old generation's calls and attempts finish on it (bounded by the shutdown grace); then it closes. */
  async function retire(old: Generation, workersMoved: Promise<void>, sweep: () => Promise<number>) {
    retiring.add(old);
    const grace = config.server.shutdownGrace;
    const done = await Promise.race([
      Promise.all([drained(old, grace), workersMoved]).then(([calls]) => calls),
      sleep(grace).then(() => false),
    ]);
    if (!done)
      logger.warn(
        { hash: old.hash.slice(0, 12), grace },
        'reload: old configuration still busy after the grace; closing it',
      );
    // A stop that came meanwhile closed it already.
    if (!retiring.delete(old)) return;
    try {
      await closeGeneration(old);
      const closed = await sweep();
      logger.debug({ hash: old.hash.slice(0, 12), poolsClosed: closed }, 'reload: old configuration closed');
    } catch (error) {
      logger.error({ err: error }, 'reload: closing the old configuration failed');
    }
  }

  /** Replaced generations not closed yet (their calls may still run). */
  const retiring = new Set<Generation>();
  if (first.queued.length > 0) openQueue(first);
  if (wantsAdmin(first)) admin = createAdmin();
  // Replay windows shared by every instance when the store is (redis); else each process its own.
  // Opened by the first configuration whose routes remember messages (a reload may add one).
  let replay: SharedReplayStore | undefined;
  const rememberIn = (generation: Generation) => {
    const remembers = generation.routes.some((route) => route.verify.some((check) => check.verifier.replay));
    if (remembers && !replay) replay = createReplayStore(config.queue);
    generation.replay = replay;
  };
  rememberIn(first);
  startGeneration(first, { clients, metrics, logger, requestIdHeader, secrets, queue: queueAccess });
  initRouteMetrics(first, metrics);

  let inFlight = 0;
  let idle: (() => void) | undefined;
  const servedBy = new WeakMap<IncomingMessage, Generation>();
  const lifecycle = {
    shuttingDown: false,
    begin(req: IncomingMessage) {
      inFlight++;
      // Read in the same turn as the route was matched: the generation that matched it.
      const generation = routing.current;
      generation.inFlight++;
      servedBy.set(req, generation);
    },
    end(req: IncomingMessage) {
      inFlight--;
      const generation = servedBy.get(req);
      if (generation) {
        servedBy.delete(req);
        generation.inFlight--;
        if (generation.inFlight === 0) generation.idle?.();
      }
      if (inFlight === 0) idle?.();
    },
  };
  const server = createHttpServer(
    { routing, metrics, logger, requestIdHeader, secrets, lifecycle, tracing: tracer },
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
    get admin() {
      return admin;
    },
    get queue() {
      return queue;
    },
    get config() {
      return routing.current.config;
    },
    metrics,
    logger,
    async listen(port = config.server.port, host = config.server.host) {
      if (tracing && !tracer.current.enabled) {
        tracer.current = await createTracer(tracing);
        logger.info({ protocol: tracing.protocol }, 'tracing on');
      }
      if (queue) await startQueue(routing.current);
      if (admin) await listenAdmin();
      const address = await listenOn(server, port, host);
      listening = true;
      if (config.server.watchConfig) reloader.watch();
      return address;
    },
    reload: (trigger = 'api') => reloader.reload(trigger),
    async stop(grace = config.server.shutdownGrace) {
      lifecycle.shuttingDown = true;
      reloader.close();
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
      await reloader.settled();
      if (workers && queue) {
        // Deliveries in flight finish or give their lease back; nothing acknowledged is lost.
        const { released } = await workers.stop(Math.max(1_000, grace / 2));
        if (released > 0) logger.info({ released }, 'released in-flight deliveries to the queue');
        queue.stop();
        await queue.driver.close();
      }
      if (admin?.listening) {
        const a = admin;
        a.closeAllConnections();
        await new Promise<void>((resolve) => a.close(() => resolve()));
      }
      // Token requests still in flight (OAuth2) are cancelled; nothing is waiting for them now.
      const generations = [routing.current, ...retiring];
      retiring.clear();
      await Promise.all(generations.map(closeGeneration));
      await clients.close();
      await replay?.close();
      await pool.close();
      // The last spans (this stop's requests included) are exported before the process exits.
      await tracer.current
        .shutdown()
        .catch((error: unknown) => logger.warn({ err: error }, 'tracing: flush failed'));
      return { drained };
    },
  };
}

/** The hash of the bytes the configuration was loaded from (read again when only the file is given), else of its JSON. */
function initialHash(config: Config, options: AppOptions): string {
  if (options.source !== undefined) return configHash(options.source);
  if (options.file !== undefined) {
    try {
      return configHash(readFileSync(options.file));
    } catch {
      // Gone since it was loaded: the next reload will say so.
    }
  }
  return configHash(JSON.stringify(config));
}

function queueLimits(generation: Generation) {
  return new Map(
    generation.queued.map((r) => [
      r.id,
      { maxPending: r.queue.maxPending, maxPendingBytes: r.queue.maxPendingBytes },
    ]),
  );
}

function limitsOf(route: Generation['queued'][number]) {
  return { id: route.id, limits: { concurrency: route.queue.concurrency, rateLimit: route.queue.rateLimit } };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
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
