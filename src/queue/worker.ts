/**
 * The delivery workers: one scheduler loop per queued route (route-loop.ts), started and stopped
 * together; a stop lets attempts in flight finish within the grace period and releases the rest
 * for another worker.
 */

import type { OutboundAuth } from '../auth/types.ts';
import type { Clients } from '../delivery/client.ts';
import type { RetryPolicy } from '../delivery/policy.ts';
import type { Presentation } from '../delivery/send-attempt.ts';
import type { TlsIdentity } from '../delivery/tls.ts';
import type { Logger } from '../telemetry/log.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import type { Tracer } from '../telemetry/tracing.ts';
import type { CircuitState } from './circuit.ts';
import { RouteLoop, type Shared } from './route-loop.ts';
import type { QueueDriver, StoredTarget } from './types.ts';

export type { CircuitState } from './circuit.ts';

/** What the workers need of a queued route (the async mode builds it: modes/async/worker-route.ts). */
export interface WorkerRoute {
  id: string;
  /** Credentials and signatures, applied afresh on every attempt. */
  auth: OutboundAuth | undefined;
  sign?: Presentation['sign'];
  /** Same-origin redirects followed per attempt (default 0). */
  followRedirects?: number;
  tls?: TlsIdentity | undefined;
  /** Header values the configuration fixes, applied to each attempt (stored-request.ts). */
  configHeaders?: Readonly<Record<string, string>> | undefined;
  /** The target URL of a delivery, rendered from its stored inputs with the route as configured now. */
  targetUrl?: ((target: StoredTarget) => URL) | undefined;
  retry: RetryPolicy;
  timeouts: { connect: number; attempt: number };
  responseLimit: number;
  queue: {
    concurrency: number;
    rateLimit?: number | undefined;
    maxAttempts: number;
    maxAge: number;
    lease: number;
    idHeaders: readonly string[];
    circuitBreaker?: { failures: number; cooldown: number } | undefined;
  };
}

export interface WorkerOptions {
  driver: QueueDriver;
  routes: readonly WorkerRoute[];
  clients: Clients;
  metrics: Metrics;
  logger: Logger;
  /** Tracing (telemetry/tracing.ts): each attempt a new trace linked to the accepting request. */
  tracing?: { current: Tracer } | undefined;
  /** Wall clock for records (leases, due times, maxAge); tests may pin it. */
  now?: () => number;
  /** Longest sleep of an idle loop, so records enqueued by another process (CLI replay) or whose
   * lease expired are picked up. */
  pollInterval?: number;
  /** Pause of a loop after a driver error. */
  errorBackoff?: number;
  /** Jitter source (tests). */
  random?: () => number;
}

/**
 * Delivers queued webhooks: one scheduler loop per route leases due records up to the route's
 * concurrency (gated by its rate limit and circuit breaker), makes one attempt per record and
 * writes the verdict back (ack, nack with the next attempt time, or dead). At-least-once: a record
 * whose worker dies is leased again when its lease expires.
 */
export class DeliveryWorkers {
  readonly #loops = new Map<string, RouteLoop>();
  /** Loops a reload replaced or removed, until their attempts in flight are done. */
  readonly #retiring = new Set<RouteLoop>();
  readonly #shared: Shared;
  readonly #abort = new AbortController();
  #state: 'idle' | 'running' | 'stopped' = 'idle';

  constructor(options: WorkerOptions) {
    this.#shared = {
      driver: options.driver,
      clients: options.clients,
      metrics: options.metrics,
      logger: options.logger,
      tracing: options.tracing,
      now: options.now ?? Date.now,
      pollInterval: options.pollInterval ?? 1_000,
      errorBackoff: options.errorBackoff ?? 1_000,
      random: options.random ?? Math.random,
      signal: this.#abort.signal,
      stopping: false,
    };
    for (const route of options.routes) {
      if (this.#loops.has(route.id)) throw new Error(`duplicate worker route '${route.id}'`);
      this.#loops.set(route.id, new RouteLoop(route, this.#shared));
    }
  }

  start(): void {
    if (this.#state !== 'idle') return;
    this.#state = 'running';
    for (const loop of this.#loops.values()) loop.start();
  }

  /**
   * A reload: every route of `routes` gets a new loop on its new definition (taking over the old
   * loop's circuit breaker and rate limit when their settings are the same, and counting its
   * attempts still in flight toward the concurrency); the loops of routes no longer listed stop
   * leasing. Old loops' attempts in flight finish on the route they started with; resolves when
   * they have. Deliveries of a removed route stay in the store, delivered again if it returns.
   */
  update(routes: readonly WorkerRoute[]): Promise<void> {
    const ids = new Set<string>();
    for (const route of routes) {
      if (ids.has(route.id)) throw new Error(`duplicate worker route '${route.id}'`);
      ids.add(route.id);
    }
    const old = [...this.#loops.values()];
    this.#loops.clear();
    for (const route of routes) {
      const before = old.find((loop) => loop.route.id === route.id);
      const loop = new RouteLoop(route, this.#shared, before);
      this.#loops.set(route.id, loop);
      if (this.#state === 'running') loop.start();
    }
    return Promise.all(
      old.map(async (loop) => {
        this.#retiring.add(loop);
        try {
          await loop.retire();
        } finally {
          this.#retiring.delete(loop);
        }
      }),
    ).then(() => undefined);
  }

  /** The routes the workers deliver now. */
  get routeIds(): string[] {
    return [...this.#loops.keys()];
  }

  /** A delivery of the route was enqueued: wake its loop now instead of at the next poll. */
  notify(routeId: string): void {
    this.#loops.get(routeId)?.notify();
  }

  circuit(routeId: string): CircuitState {
    return this.#loops.get(routeId)?.circuitState() ?? 'closed';
  }

  /** Attempts in flight, all routes. */
  get inFlight(): number {
    let count = 0;
    for (const loop of [...this.#loops.values(), ...this.#retiring]) count += loop.flights.size;
    return count;
  }

  /**
   * Stops leasing, lets attempts in flight finish within `grace` ms, then aborts the rest and
   * releases their leases (no attempt counted), so another worker takes them over at once.
   */
  async stop(grace: number): Promise<{ released: number }> {
    if (this.#state !== 'running') {
      this.#state = 'stopped';
      return { released: 0 };
    }
    this.#state = 'stopped';
    const deadline = performance.now() + grace;
    this.#shared.stopping = true;
    const loops = [...this.#loops.values(), ...this.#retiring];
    for (const loop of loops) loop.notify();
    await Promise.all(loops.map((loop) => loop.running));
    let released = loops.reduce((sum, loop) => sum + loop.releasedAtStop, 0);
    const all = Promise.all(loops.flatMap((loop) => [...loop.flights.values()].map((f) => f.done)));
    if (!(await within(all, deadline - performance.now()))) {
      const held: string[] = [];
      for (const loop of loops) {
        for (const [id, flight] of loop.flights) {
          if (flight.phase !== 'attempt') continue;
          flight.abandoned = true;
          held.push(id);
        }
      }
      this.#abort.abort();
      try {
        await this.#shared.driver.release(held);
        released += held.length;
      } catch (error) {
        // Their leases expire on their own: nothing is lost, it only takes longer.
        this.#shared.logger.error({ err: error, count: held.length }, 'could not release delivery leases');
      }
      await all;
    }
    return { released };
  }
}

/** Resolves true when `promise` settles within `ms`, false otherwise. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
