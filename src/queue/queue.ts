import type { Config } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/index.ts';
import type { DeliveryStatus, NewDelivery, QueueDriver, QueueStats } from './types.ts';

/**
 * The relay's view of the queue: admission (backpressure), enqueue with accounting, periodic
 * stats for metrics, and retention purges. Counts come from the store every few seconds, so work
 * done by another process on the same file (the CLI replaying dead letters) is seen too; between
 * refreshes local enqueues are added so a burst cannot overshoot the limits.
 */
export interface RouteLimits {
  maxPending: number;
  maxPendingBytes: number;
}

export type Admission = { ok: true } | { ok: false; scope: 'route' | 'global'; limit: string };

const STATES: DeliveryStatus[] = ['pending', 'inflight', 'dead', 'delivered'];
const REFRESH_MS = 2_000;
const PURGE_MS = 10 * 60_000;

export class Queue {
  readonly driver: QueueDriver;
  readonly #config: Config['queue'];
  readonly #limits: Map<string, RouteLimits>;
  readonly #metrics: Metrics;
  readonly #logger: Logger;
  #stats: QueueStats = { byRoute: {}, oldestPending: {} };
  /** Enqueued since the last refresh, per route: count and bytes. */
  #local = new Map<string, { count: number; bytes: number }>();
  #timers: NodeJS.Timeout[] = [];

  constructor(
    driver: QueueDriver,
    config: Config['queue'],
    limits: Map<string, RouteLimits>,
    metrics: Metrics,
    logger: Logger,
  ) {
    this.driver = driver;
    this.#config = config;
    this.#limits = limits;
    this.#metrics = metrics;
    this.#logger = logger;
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

  #warn(what: string, error: unknown): void {
    this.#logger.warn({ err: error }, `queue ${what} failed`);
  }

  /** Pending (incl. in flight) count and bytes of a route, or of all routes. */
  #pending(routeId?: string): { count: number; bytes: number } {
    let count = 0;
    let bytes = 0;
    for (const [route, states] of Object.entries(this.#stats.byRoute)) {
      if (routeId && route !== routeId) continue;
      count += (states.pending?.count ?? 0) + (states.inflight?.count ?? 0);
      bytes += (states.pending?.bytes ?? 0) + (states.inflight?.bytes ?? 0);
    }
    for (const [route, local] of this.#local) {
      if (routeId && route !== routeId) continue;
      count += local.count;
      bytes += local.bytes;
    }
    return { count, bytes };
  }

  admit(routeId: string, bytes: number): Admission {
    const limits = this.#limits.get(routeId);
    if (limits) {
      const route = this.#pending(routeId);
      if (route.count + 1 > limits.maxPending)
        return { ok: false, scope: 'route', limit: `${limits.maxPending} deliveries` };
      if (route.bytes + bytes > limits.maxPendingBytes) {
        return { ok: false, scope: 'route', limit: `${limits.maxPendingBytes} bytes` };
      }
    }
    const all = this.#pending();
    if (all.count + 1 > this.#config.maxPending)
      return { ok: false, scope: 'global', limit: `${this.#config.maxPending} deliveries` };
    if (all.bytes + bytes > this.#config.maxPendingBytes) {
      return { ok: false, scope: 'global', limit: `${this.#config.maxPendingBytes} bytes` };
    }
    return { ok: true };
  }

  /** Durable when resolved; rejects with DuplicateDelivery or a storage error. */
  async enqueue(delivery: NewDelivery): Promise<void> {
    await this.driver.enqueue(delivery);
    const local = this.#local.get(delivery.routeId) ?? { count: 0, bytes: 0 };
    local.count++;
    local.bytes += delivery.request.body?.length ?? 0;
    this.#local.set(delivery.routeId, local);
  }

  async refresh(): Promise<void> {
    const stats = await this.driver.stats();
    this.#stats = stats;
    this.#local.clear();
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
