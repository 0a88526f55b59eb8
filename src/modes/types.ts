/**
 * The contract of a delivery mode module (one folder per mode, one line in index.ts): the route
 * keys it owns and its rules for the configuration, how it compiles a route, and how it starts
 * (pipeline/mode.ts is what the lifecycle calls). config/ assembles the schema and compiles the
 * routes from these definitions; a mode never reads the configuration's shape beyond its own keys.
 */
import type { z } from 'zod';
import { type ConfigCode, configCode } from '../core/config-codes.ts';
import type { SecretValues } from '../core/secret-values.ts';
import type { Clients } from '../delivery/client.ts';
import type { DeliveryMode } from '../pipeline/mode.ts';
import type { RouteBase, RouteParts } from '../pipeline/route.ts';
import type { Offer } from '../queue/queue.ts';
import type { NewDelivery } from '../queue/types.ts';
import type { Logger } from '../telemetry/log.ts';
import type { Metrics } from '../telemetry/metrics.ts';

/** What the app lends the modes it starts. */
export interface ModeServices {
  /** The keep-alive pools to the targets, shared by every route. */
  clients: Clients;
  metrics: Metrics;
  logger: Logger;
  requestIdHeader: string;
  /** Values of the configuration never shown, nor stored with a delivery. */
  secrets: SecretValues;
  /** The durable queue, when some route's mode is `queued`. */
  queue?: QueueAccess | undefined;
}

/** What a queued mode needs of the running queue: admission and the durable write, and the workers' bell. */
export interface QueueAccess {
  offer(delivery: NewDelivery): Promise<Offer>;
  /** A delivery of the route was stored: its worker loop looks now instead of at its next poll. */
  notify(routeId: string): void;
}

/** A route as validated by the schema, read by the mode for its own keys only. */
export type RouteInput = Readonly<Record<string, unknown>>;

export interface ModeDefinition {
  type: string;
  /**
   * How a route selects the mode: its `delivery` value, or `echo: true` (the echo mode answers by
   * itself and forwards nothing).
   */
  selector: 'delivery' | 'echo';
  /** One sentence for the reference of `delivery` (or `echo`). */
  description: string;
  /** The route keys only this mode (or modes it is composed of) uses, with their schemas. */
  keys: Readonly<Record<string, z.ZodType>>;
  /** Rules of a route of this mode: keys that do not apply to it, keys that go together. */
  check(route: RouteInput, ctx: z.core.$RefinementCtx): void;
  /** The route at run time, from what every route compiles to and the mode's own keys. */
  compile(parts: RouteParts, route: RouteInput): RouteBase;
  /** True when its deliveries go through the durable queue (started by the app, drained by workers). */
  queued: boolean;
  /** The running mode for these routes (all of this type); `close` releases what it holds. */
  start(routes: readonly RouteBase[], services: ModeServices): DeliveryMode;
}

/**
 * An issue at `path` of the route being checked; a mode's rules are about which keys go with which
 * mode, so the code is HOOKRELAY_CONFIG_CONFLICT unless another is given.
 */
export function issue(
  ctx: z.core.$RefinementCtx,
  path: (string | number)[],
  message: string,
  code: ConfigCode = 'HOOKRELAY_CONFIG_CONFLICT',
): void {
  ctx.addIssue({ code: 'custom', path, message, params: configCode(code) });
}

/** True when the route holds `key` (and, when given, `sub` inside it) as written by the user. */
export function has(route: RouteInput, key: string, sub?: string): boolean {
  const value = route[key];
  if (value === undefined) return false;
  if (sub === undefined) return true;
  return typeof value === 'object' && value !== null && (value as Record<string, unknown>)[sub] !== undefined;
}
