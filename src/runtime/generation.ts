/**
 * One loaded configuration, compiled: its routes, router and started modes, its secrets, and
 * how many calls it is still serving. The app serves one generation at a time; a reload builds
 * the next one off to the side (nothing of the running one is touched until it compiled), swaps
 * the reference, and closes the old one once its calls are done.
 */
import { createHash } from 'node:crypto';
import { type CompiledRoute, type CompileRuntime, compileRoutes } from '../config/compile.ts';
import type { Config } from '../config/schema.ts';
import { secretValuesOf } from '../config/secret-provenance.ts';
import type { SecretValues } from '../core/secret-values.ts';
import type { QueuedRoute } from '../modes/async/route.ts';
import { type ModeServices, queuedRoutes, startModes } from '../modes/index.ts';
import type { RouteTable } from '../pipeline/context.ts';
import type { DeliveryMode } from '../pipeline/mode.ts';
import { createRouter } from '../pipeline/router.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import type { SharedReplayStore } from '../verifiers/replay.ts';

export interface Generation extends RouteTable {
  readonly config: Config;
  /** sha256 of the file's bytes, hex. */
  readonly hash: string;
  /** ms since epoch. */
  readonly loadedAt: number;
  readonly routes: readonly CompiledRoute[];
  /** The routes whose deliveries are queued (a fan-out route's targets in its place). */
  readonly queued: readonly QueuedRoute[];
  /** Each route's `path` as configured, for the console. */
  readonly paths: ReadonlyMap<string, string>;
  readonly secrets: SecretValues;
  modes: Map<string, DeliveryMode>;
  /** The shared replay window store, when its routes remember messages and the queue's store is shared. */
  replay: SharedReplayStore | undefined;
  /** Calls still being served on this generation. */
  inFlight: number;
  /** Set when it was replaced: called as its last call ends. */
  idle: (() => void) | undefined;
}

/** sha256 (hex) of a configuration file's bytes: the identity of a loaded configuration. */
export function configHash(source: string | Buffer): string {
  return createHash('sha256').update(source).digest('hex');
}

/** Compiles the routes of `config`; its modes start later (startGeneration), once the queue exists. */
export function compileGeneration(config: Config, hash: string, runtime: CompileRuntime): Generation {
  const routes = compileRoutes(config, runtime);
  return {
    config,
    hash,
    loadedAt: Date.now(),
    routes,
    queued: queuedRoutes(routes),
    paths: new Map(config.routes.map((route) => [route.id, route.path])),
    secrets: secretValuesOf(config),
    match: createRouter(routes),
    modes: new Map(),
    replay: undefined,
    inFlight: 0,
    idle: undefined,
  };
}

export function startGeneration(generation: Generation, services: ModeServices): void {
  generation.modes = startModes(generation.routes, services);
}

/** Zero-initialises the per-route series, so dashboards and rate() see every route before its first request. */
export function initRouteMetrics(generation: Generation, metrics: Metrics): void {
  metrics.routes.set(generation.routes.length);
  for (const route of generation.routes) {
    for (const result of ['delivered', 'rejected', 'failed', 'deadline']) {
      metrics.deliveries.inc({ route: route.id, result }, 0);
    }
    metrics.forwardRetries.inc({ route: route.id }, 0);
    metrics.forwardReconnects.inc({ route: route.id }, 0);
    if ('fanout' in route && route.fanout) metrics.targetsUnmatched.inc({ route: route.id }, 0);
    metrics.inFlight.set({ route: route.id }, 0);
  }
  for (const route of generation.queued) {
    for (const outcome of ['delivered', 'dead', 'retry', 'replayed']) {
      metrics.queueFinished.inc({ route: route.id, outcome }, 0);
    }
    for (const result of ['accepted', 'duplicate', 'full', 'failed']) {
      metrics.queueEnqueued.inc({ route: route.id, result }, 0);
    }
  }
  metrics.configInfo.reset();
  metrics.configInfo.set({ hash: generation.hash.slice(0, 12) }, 1);
  metrics.configLoaded.set(Math.floor(generation.loadedAt / 1000));
}

/** Resolves once the generation serves no call, or after `grace` ms (false then). */
export function drained(generation: Generation, grace: number): Promise<boolean> {
  if (generation.inFlight === 0) return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), grace);
    generation.idle = () => {
      clearTimeout(timer);
      resolve(true);
    };
  });
}

/** Releases what the generation's routes and modes hold (token requests, proxies' agents). */
export async function closeGeneration(generation: Generation): Promise<void> {
  await Promise.all(
    [...generation.routes, ...generation.queued].map((route) =>
      'forward' in route ? route.forward.auth?.close?.() : undefined,
    ),
  );
  await Promise.all([...generation.modes.values()].map((mode) => mode.close?.()));
}
