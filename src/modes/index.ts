/**
 * The delivery modes: one folder each, one line here. config/ builds the route schema from their
 * keys and rules and compiles routes with them; the app starts the ones its routes use.
 */
import type { z } from 'zod';
import { createLookup } from '../core/registry.ts';
import type { DeliveryMode } from '../pipeline/mode.ts';
import type { RouteBase } from '../pipeline/route.ts';
import { asyncMode } from './async/index.ts';
import type { QueuedRoute } from './async/route.ts';
import { echoMode } from './echo/index.ts';
import { type Fanout, queuedTargets } from './fanout/targets.ts';
import { hybridMode } from './hybrid/index.ts';
import { streamMode } from './stream/index.ts';
import { syncMode } from './sync/index.ts';
import type { ModeDefinition, ModeServices } from './types.ts';

export type { ModeDefinition, ModeServices, QueueAccess } from './types.ts';

export const MODES = [
  syncMode,
  asyncMode,
  hybridMode,
  streamMode,
  echoMode,
] as const satisfies readonly ModeDefinition[];

type Intersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;

/**
 * The route keys the modes own (`queue`, `dedup`, `hybrid`, `stream`), each once, typed, for the
 * route schema. Two modes may share a key (async and hybrid: `queue`, `dedup`) with the same schema.
 */
export const MODE_KEYS = mergeKeys(MODES) as Intersection<(typeof MODES)[number]['keys']>;

function mergeKeys(modes: readonly ModeDefinition[]): Record<string, z.ZodType> {
  const keys: Record<string, z.ZodType> = {};
  for (const mode of modes) {
    for (const [key, schema] of Object.entries(mode.keys)) {
      if (keys[key] !== undefined && keys[key] !== schema) {
        throw new Error(`route key '${key}' is defined differently by two delivery modes`);
      }
      keys[key] = schema;
    }
  }
  return keys;
}

const modes = createLookup<ModeDefinition>('delivery mode', MODES);

export function modeOf(type: string): ModeDefinition {
  return modes.get(type);
}

/** The `delivery` values, in the order of MODES (echo is chosen by `echo: true` instead). */
export const DELIVERY_TYPES: readonly string[] = MODES.filter((mode) => mode.selector === 'delivery').map(
  (mode) => mode.type,
);

/** Whether the route's deliveries go through the durable queue. */
export function isQueued(route: RouteBase): boolean {
  return modeOf(route.delivery).queued;
}

/**
 * The routes whose deliveries go through the durable queue (a queued mode compiles QueuedRoutes),
 * a fan-out route's targets in its place: every target of an async route, the targets that do
 * not answer of a sync one (modes/fanout/), each with the route id `<route>/<target>`.
 */
export function queuedRoutes(routes: readonly RouteBase[]): QueuedRoute[] {
  return routes.flatMap((route): QueuedRoute[] => {
    const fanout = (route as { fanout?: Fanout | undefined }).fanout;
    if (fanout) return queuedTargets(fanout, route.delivery);
    return isQueued(route) ? [route as QueuedRoute] : [];
  });
}

/** Starts every mode the routes use, each with its own routes; `close` each on stop. */
export function startModes(routes: readonly RouteBase[], services: ModeServices): Map<string, DeliveryMode> {
  const started = new Map<string, DeliveryMode>();
  for (const mode of MODES) {
    const own = routes.filter((route) => route.delivery === mode.type);
    if (own.length > 0) started.set(mode.type, mode.start(own, services));
  }
  return started;
}
