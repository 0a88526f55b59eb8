/**
 * What the lifecycle and its stages share for every call: routing, the started modes, metrics,
 * logs and the listener's state.
 */
import type { IncomingMessage } from 'node:http';
import type { SecretValues } from '../core/secret-values.ts';
import type { Logger } from '../telemetry/log.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import type { Tracer } from '../telemetry/tracing.ts';
import type { SharedReplayStore } from '../verifiers/replay.ts';
import type { BodyRateWatch } from './body-rate.ts';
import type { DeliveryMode } from './mode.ts';
import type { RouteBase } from './route.ts';
import type { Match } from './router.ts';

/** The routes serving now and their started modes: one configuration's, swapped whole by a reload. */
export interface RouteTable {
  match: (method: string, path: string) => Match<RouteBase>;
  /** The started delivery modes by type (modes/index.ts): the last stage is `modes.get(route.delivery)`. */
  modes: ReadonlyMap<string, DeliveryMode>;
  /** The verifiers' replay window shared by every instance (`queue.driver: redis`); none: per process. */
  replay?: SharedReplayStore | undefined;
}

/** What the lifecycle and its stages share: routing, the modes, metrics, logs, the listener's state. */
export interface RelayContext {
  /**
   * A reload replaces `current` (one reference, runtime/): a call reads it once, when it arrives,
   * and keeps the route and mode it matched until it is done.
   */
  routing: { current: RouteTable };
  metrics: Metrics;
  logger: Logger;
  /**
   * Tracing (telemetry/tracing.ts): the no-op tracer when off, and until the SDK was loaded
   * (app.ts swaps `current` when listening starts); absent in tests that do not trace.
   */
  tracing?: { current: Tracer } | undefined;
  requestIdHeader: string;
  /** Values of the configuration never shown (the echo route redacts them); none when absent. */
  secrets?: SecretValues | undefined;
  /** `server.minBodyRate` for the bodies being read (none: no minimum). */
  bodyRate?: BodyRateWatch | undefined;
  /** begin/end around every request to a route (the concurrency caps count on them). */
  lifecycle: { shuttingDown: boolean; begin(req: IncomingMessage): void; end(req: IncomingMessage): void };
}
