/**
 * The relay's view of the queue: admission (backpressure), enqueue with accounting, periodic
 * stats for metrics, and retention purges.
 *
 * Admission reserves: a caller that passes the limits holds its count and bytes from that moment
 * until its write settles, so callers arriving together (all parsed before the first commit) can
 * never pass a limit between them. A stored delivery's reservation becomes part of the local
 * count; a duplicate or a failed write gives it back. Counts come from the store every few
 * seconds, so work done by another process on the same file (the CLI replaying dead letters) and
 * by the workers (deliveries finished, attempt history) is seen too; what was stored since the
 * last read of the store is added to it.
 */
import type { Logger } from '../telemetry/log.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { FailureLog } from './failure-log.ts';
import {
  type DeliveryStatus,
  DuplicateDelivery,
  type NewDelivery,
  type QueueDriver,
  type QueueSettings,
  type QueueStats,
} from './types.ts';

export interface RouteLimits {
  maxPending: number;
  maxPendingBytes: number;
}

/** What became of a webhook offered to the queue (a storage error is thrown instead). */
export type Offer =
  | { kind: 'accepted' }
  | { kind: 'duplicate'; existingId: string }
  | { kind: 'full'; scope: 'route' | 'global'; limit: string };

interface Tally {
  count: number;
  bytes: number;
}

const STATES: DeliveryStatus[] = ['pending', 'inflight', 'dead', 'delivered'];
const REFRESH_MS = 2_000;
const PURGE_MS = 10 * 60_000;

function add(tallies: Map<string, Tally>, routeId: string, count: number, bytes: number): void {
  const tally = tallies.get(routeId) ?? { count: 0, bytes: 0 };
  tally.count += count;
  tally.bytes += bytes;
  if (tally.count === 0 && tally.bytes === 0) tallies.delete(routeId);
  else tallies.set(routeId, tally);
}

export class Queue {
  readonly driver: QueueDriver;
  readonly #config: QueueSettings;
  readonly #limits: Map<string, RouteLimits>;
  readonly #metrics: Metrics;
  readonly #logger: Logger;
  #stats: QueueStats = { byRoute: {}, oldestPending: {} };
  /** Admitted and not yet settled, per route. */
  readonly #reserved = new Map<string, Tally>();
  /** Stored since the last read of the store began, per route. */
  #local = new Map<string, Tally>();
  /** Stored before the read of the store in progress began: counted until its result replaces #stats. */
  #reading = new Map<string, Tally>();
  #refreshing: Promise<void> | undefined;
  #timers: NodeJS.Timeout[] = [];
  /** A full or broken disk refuses every caller: logged once per change, not once per caller. */
  readonly #writes: FailureLog;

  /** A reload's per-route limits (`queue.maxPending`, `queue.maxPendingBytes` of each queued route). */
  setLimits(limits: Map<string, RouteLimits>): void {
    this.#limits.clear();
    for (const [id, value] of limits) this.#limits.set(id, value);
  }

  constructor(
    driver: QueueDriver,
    config: QueueSettings,
    limits: Map<string, RouteLimits>,
    metrics: Metrics,
    logger: Logger,
  ) {
    this.driver = driver;
    this.#config = config;
    this.#limits = limits;
    this.#metrics = metrics;
    this.#logger = logger;
    this.#writes = new FailureLog(logger, {
      failing: 'queue writes failing',
      recovered: 'queue writes recovered',
    });
  }

  async start(): Promise<void> {
    await this.refresh();
    await this.purge();
    this.#timers.push(
      setInterval(() => void this.refresh().catch((e) => this.#warn('stats', e)), REFRESH_MS),
    );
    this.#timers.push(setInterval(() => void this.purge().catch((e) => this.#warn('purge', e)), PURGE_MS));
    for (const t of this.#timers) t.unref();
  }

  stop(): void {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
  }

  /** Rebuilds the driver's watchdog counted since the last refresh. */
  #rebuilds = 0;

  #health(): void {
    const readiness = this.driver.readiness?.() ?? { ready: true };
    this.#metrics.queueStoreReady.set(readiness.ready ? 1 : 0);
    const rebuilds = readiness.rebuilds ?? 0;
    if (rebuilds > this.#rebuilds) this.#metrics.queueWatchdogRebuilds.inc(rebuilds - this.#rebuilds);
    this.#rebuilds = rebuilds;
  }

  #warn(what: string, error: unknown): void {
    this.#logger.warn({ err: error }, `queue ${what} failed`);
  }

  /** Pending (incl. in flight) count and bytes of a route, or of all routes, reservations included. */
  #pending(routeId?: string): Tally {
    let count = 0;
    let bytes = 0;
    for (const [route, states] of Object.entries(this.#stats.byRoute)) {
      if (routeId && route !== routeId) continue;
      count += (states.pending?.count ?? 0) + (states.inflight?.count ?? 0);
      bytes += (states.pending?.bytes ?? 0) + (states.inflight?.bytes ?? 0);
    }
    for (const tallies of [this.#reading, this.#local, this.#reserved]) {
      for (const [route, tally] of tallies) {
        if (routeId && route !== routeId) continue;
        count += tally.count;
        bytes += tally.bytes;
      }
    }
    return { count, bytes };
  }

  #admit(routeId: string, bytes: number): Extract<Offer, { kind: 'full' }> | undefined {
    const limits = this.#limits.get(routeId);
    if (limits) {
      const route = this.#pending(routeId);
      if (route.count + 1 > limits.maxPending)
        return { kind: 'full', scope: 'route', limit: `${limits.maxPending} deliveries` };
      if (route.bytes + bytes > limits.maxPendingBytes) {
        return { kind: 'full', scope: 'route', limit: `${limits.maxPendingBytes} bytes` };
      }
    }
    const all = this.#pending();
    if (all.count + 1 > this.#config.maxPending)
      return { kind: 'full', scope: 'global', limit: `${this.#config.maxPending} deliveries` };
    if (all.bytes + bytes > this.#config.maxPendingBytes) {
      return { kind: 'full', scope: 'global', limit: `${this.#config.maxPendingBytes} bytes` };
    }
    return undefined;
  }

  /**
   * Admits the delivery under the route's and the global limits, reserving its count and bytes at
   * once, then stores it. Durable when it resolves with `accepted`; rejects with the storage error
   * (nothing was acknowledged, the reservation is given back), which is logged when the store
   * starts failing and when it recovers, with the count, not for every caller.
   */
  async offer(delivery: NewDelivery): Promise<Offer> {
    const { routeId } = delivery;
    const bytes = delivery.request.body?.length ?? 0;
    const full = this.#admit(routeId, bytes);
    if (full) return full;
    add(this.#reserved, routeId, 1, bytes);
    try {
      await this.driver.enqueue(delivery);
    } catch (error) {
      if (error instanceof DuplicateDelivery) {
        this.#writes.succeeded();
        return { kind: 'duplicate', existingId: error.existingId };
      }
      this.#writes.failed(error, { route: routeId });
      throw error;
    } finally {
      add(this.#reserved, routeId, -1, -bytes);
    }
    this.#writes.succeeded();
    add(this.#local, routeId, 1, bytes);
    return { kind: 'accepted' };
  }

  /** Reads the counts from the store (one read at a time) and updates the queue gauges. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #refresh(): Promise<void> {
    // What was stored until now is in the read that starts here; what is stored while it runs
    // may or may not be, so it stays counted locally until the next read (never undercounted).
    for (const [route, tally] of this.#local) add(this.#reading, route, tally.count, tally.bytes);
    this.#local = new Map();
    this.#health();
    let stats: QueueStats;
    try {
      stats = await this.driver.stats();
    } catch (error) {
      for (const [route, tally] of this.#reading) add(this.#local, route, tally.count, tally.bytes);
      this.#reading = new Map();
      throw error;
    }
    this.#stats = stats;
    this.#reading = new Map();
    const now = Date.now();
    for (const routeId of new Set([...this.#limits.keys(), ...Object.keys(stats.byRoute)])) {
      const states = stats.byRoute[routeId];
      for (const state of STATES) {
        this.#metrics.queueDepth.set({ route: routeId, state }, states?.[state]?.count ?? 0);
      }
      this.#metrics.queuePendingBytes.set(
        { route: routeId },
        (states?.pending?.bytes ?? 0) + (states?.inflight?.bytes ?? 0),
      );
      const oldest = stats.oldestPending[routeId];
      this.#metrics.queueOldest.set(
        { route: routeId },
        oldest === undefined ? 0 : Math.max(0, (now - oldest) / 1000),
      );
    }
  }

  /** Retention: delivered and dead records older than their retention are deleted. */
  async purge(now: number = Date.now()): Promise<void> {
    const delivered = await this.driver.purge({
      status: 'delivered',
      olderThan: now - this.#config.retention.delivered,
    });
    const dead = await this.driver.purge({ status: 'dead', olderThan: now - this.#config.retention.dead });
    if (delivered + dead > 0) this.#logger.info({ delivered, dead }, 'queue retention purge');
  }
}
