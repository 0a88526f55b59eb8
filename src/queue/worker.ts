import type { OutboundAuth } from '../auth/types.ts';
import type { CompiledRoute, RetryPolicy } from '../config/compile.ts';
import { AttemptError, attempt, outcomeOf, type TargetResponse } from '../delivery/attempt.ts';
import type { Clients } from '../delivery/client.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/index.ts';
import { CircuitBreaker, type CircuitState } from './circuit.ts';
import { buildAttempt, type Decision, decide } from './outcome.ts';
import { TokenBucket } from './rate-limit.ts';
import type { AttemptLog, DeliveryRecord, QueueDriver } from './types.ts';

export type { CircuitState } from './circuit.ts';

/** What the workers need of a compiled async or hybrid route (see `workerRoute`). */
export interface WorkerRoute {
  id: string;
  auth: OutboundAuth | undefined;
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

export function workerRoute(route: CompiledRoute): WorkerRoute {
  return {
    id: route.id,
    auth: route.forward?.auth,
    retry: route.retry,
    timeouts: route.timeouts,
    responseLimit: route.limits.response,
    queue: route.queue,
  };
}

export interface WorkerOptions {
  driver: QueueDriver;
  routes: readonly WorkerRoute[];
  clients: Clients;
  metrics: Metrics;
  logger: Logger;
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

interface Shared {
  driver: QueueDriver;
  clients: Clients;
  metrics: Metrics;
  logger: Logger;
  now: () => number;
  pollInterval: number;
  errorBackoff: number;
  random: () => number;
  signal: AbortSignal;
  stopping: boolean;
}

interface Flight {
  /** 'attempt' until the result is known; 'settling' while it is written to the queue. */
  phase: 'attempt' | 'settling';
  /** Given up at shutdown: its lease is released, so its result must not be written. */
  abandoned: boolean;
  done: Promise<void>;
}

/**
 * Delivers queued webhooks: one scheduler loop per route leases due records up to the route's
 * concurrency (gated by its rate limit and circuit breaker), makes one attempt per record and
 * writes the verdict back (ack, nack with the next attempt time, or dead). At-least-once: a record
 * whose worker dies is leased again when its lease expires.
 */
export class DeliveryWorkers {
  readonly #loops = new Map<string, RouteLoop>();
  readonly #shared: Shared;
  readonly #abort = new AbortController();
  #state: 'idle' | 'running' | 'stopped' = 'idle';

  constructor(options: WorkerOptions) {
    this.#shared = {
      driver: options.driver,
      clients: options.clients,
      metrics: options.metrics,
      logger: options.logger,
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
    for (const loop of this.#loops.values()) count += loop.flights.size;
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
    const loops = [...this.#loops.values()];
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

class RouteLoop {
  readonly route: WorkerRoute;
  readonly flights = new Map<string, Flight>();
  releasedAtStop = 0;
  running: Promise<void> = Promise.resolve();
  readonly #s: Shared;
  readonly #idHeaders: readonly string[];
  /** An attempt must end (and be written back) before its lease runs out, or another worker may take it. */
  readonly #timeout: number;
  readonly #circuit: CircuitBreaker | undefined;
  readonly #bucket: TokenBucket | undefined;
  #wake: (() => void) | undefined;
  /** A notify that came while the loop was busy: the next sleep returns at once. */
  #woken = false;

  constructor(route: WorkerRoute, shared: Shared) {
    this.route = route;
    this.#s = shared;
    this.#idHeaders = route.queue.idHeaders.map((name) => name.toLowerCase());
    const { lease } = route.queue;
    this.#timeout = Math.max(
      1,
      Math.min(route.timeouts.attempt, Math.floor(lease - Math.min(1_000, lease / 5))),
    );
    const { rateLimit, circuitBreaker } = route.queue;
    this.#bucket = rateLimit === undefined ? undefined : new TokenBucket(rateLimit, performance.now());
    if (circuitBreaker) {
      this.#circuit = new CircuitBreaker(circuitBreaker, (state) => this.#circuitChanged(state));
      this.#setCircuitGauge('closed');
    }
  }

  start(): void {
    this.running = this.#run();
  }

  notify(): void {
    this.#woken = true;
    this.#wake?.();
  }

  circuitState(): CircuitState {
    return this.#circuit?.state(performance.now()) ?? 'closed';
  }

  async #run(): Promise<void> {
    const { logger } = this.#s;
    while (!this.#s.stopping) {
      let wait: number;
      try {
        wait = await this.#tick();
      } catch (error) {
        // A broken store must not end delivery for good: log, back off, try again.
        logger.error({ err: error, route: this.route.id }, 'delivery worker error');
        wait = this.#s.errorBackoff;
      }
      if (this.#s.stopping) break;
      if (wait > 0) await this.#sleep(wait);
    }
  }

  #sleep(ms: number): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        this.#woken = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }

  /** Leases what may start now and starts it; returns how long to sleep before the next look. */
  async #tick(): Promise<number> {
    const { driver, now, pollInterval } = this.#s;
    const { id, queue } = this.route;
    let limit = queue.concurrency - this.flights.size;
    if (limit <= 0) return pollInterval; // a finishing attempt wakes the loop
    const mono = performance.now();
    if (this.#circuit) {
      const allowed = this.#circuit.allowance(mono);
      if (allowed <= 0) return Math.min(pollInterval, this.#circuit.waitMs(mono) ?? pollInterval);
      limit = Math.min(limit, allowed);
    }
    if (this.#bucket) {
      const tokens = this.#bucket.available(mono);
      if (tokens < 1) return Math.max(1, this.#bucket.waitMs(mono));
      limit = Math.min(limit, tokens);
    }
    const records = await driver.lease(id, limit, queue.lease, now());
    if (this.#s.stopping) {
      // Leased while shutdown began: hand them straight back.
      const ids = records.filter((r) => !this.flights.has(r.id)).map((r) => r.id);
      if (ids.length > 0) await driver.release(ids);
      this.releasedAtStop += ids.length;
      return 0;
    }
    // A record of ours whose lease ran out may come back while still in flight: it is ours already.
    const fresh = records.filter((r) => !this.flights.has(r.id));
    if (fresh.length > 0) {
      this.#bucket?.take(fresh.length, performance.now());
      this.#circuit?.probe(performance.now());
    }
    for (const record of fresh) this.#launch(record);
    if (records.length >= limit) return 0; // there may be more due
    const due = await driver.nextDue(id);
    if (due === undefined) return pollInterval;
    const until = due - now();
    // Due but not leased: another process holds it or it just changed; look again shortly.
    return until <= 0 ? Math.min(25, pollInterval) : Math.min(until, pollInterval);
  }

  #launch(record: DeliveryRecord): void {
    const flight: Flight = { phase: 'attempt', abandoned: false, done: Promise.resolve() };
    this.flights.set(record.id, flight);
    flight.done = this.#deliver(record, flight)
      .catch((error: unknown) => {
        // The record stays leased and is retried when the lease expires.
        this.#s.logger.error(
          { err: error, route: this.route.id, deliveryId: record.id },
          'delivery worker error',
        );
      })
      .finally(() => {
        this.flights.delete(record.id);
        this.notify();
      });
  }

  async #deliver(record: DeliveryRecord, flight: Flight): Promise<void> {
    const { clients, metrics, now, signal } = this.#s;
    const route = this.route;
    const at = now();
    const started = performance.now();
    let result: TargetResponse | Error;
    try {
      const { origin, request } = await buildAttempt(record, route, this.#idHeaders);
      const pool = clients.get(origin, route.timeouts.connect);
      result = await attempt(pool, request, {
        timeout: this.#timeout,
        responseLimit: route.responseLimit,
        signal,
      });
    } catch (error) {
      result = error instanceof Error ? error : new Error(String(error));
    }
    if (flight.abandoned) return;
    flight.phase = 'settling';
    const seconds = (performance.now() - started) / 1000;
    const finished = now();
    if (result instanceof AttemptError || !(result instanceof Error)) {
      const outcome = outcomeOf(result);
      metrics.forwardAttempts.inc({ route: route.id, outcome });
      metrics.upstreamDuration.observe({ route: route.id, outcome }, seconds);
      if (record.attempts > 0) metrics.forwardRetries.inc({ route: route.id });
    }
    const decision = decide(record, result, route, finished, this.#s.random);
    this.#updateCircuit(result);
    const log: AttemptLog = {
      at,
      durationMs: Math.round(seconds * 1000),
      status: result instanceof Error ? undefined : result.status,
      error: result instanceof Error ? result.message : undefined,
    };
    await this.#settle(record, decision, log);
    metrics.queueFinished.inc({ route: route.id, outcome: decision.kind });
    this.#logAttempt(record, decision, log);
  }

  async #settle(record: DeliveryRecord, decision: Decision, attempt: AttemptLog): Promise<void> {
    const { driver } = this.#s;
    switch (decision.kind) {
      case 'delivered':
        return driver.ack(record.id, { status: decision.status, response: decision.response, attempt });
      case 'retry':
        return driver.nack(record.id, {
          nextAttemptAt: decision.nextAttemptAt,
          attempt,
          response: decision.response,
        });
      case 'dead':
        return driver.dead(record.id, { reason: decision.reason, attempt, response: decision.response });
    }
  }

  /** Failures are what the target could not take; a definitive answer (2xx, a 4xx refusal) shows it is up. */
  #updateCircuit(result: TargetResponse | Error): void {
    const circuit = this.#circuit;
    if (!circuit) return;
    const reachable =
      result instanceof Error
        ? result instanceof AttemptError && result.kind === 'response_too_large'
        : !this.route.retry.retryOn(result.status) || (result.status >= 200 && result.status < 300);
    const mono = performance.now();
    if (reachable) circuit.success(mono);
    else circuit.failure(mono);
  }

  #logAttempt(record: DeliveryRecord, decision: Decision, attempt: AttemptLog): void {
    const fields = {
      deliveryId: record.id,
      requestId: record.requestId,
      route: this.route.id,
      attempt: record.attempts + 1,
      status: attempt.status,
      error: attempt.error,
      durationMs: attempt.durationMs,
      result: decision.kind,
    };
    const { logger } = this.#s;
    if (decision.kind === 'delivered') logger.info(fields, 'delivered');
    else if (decision.kind === 'retry') {
      logger.info(
        { ...fields, nextAttemptAt: new Date(decision.nextAttemptAt).toISOString() },
        'attempt failed, will retry',
      );
    } else logger.warn({ ...fields, reason: decision.reason }, 'delivery dead-lettered');
  }

  #circuitChanged(state: CircuitState): void {
    this.#setCircuitGauge(state);
    const { logger } = this.#s;
    const fields = { route: this.route.id, circuit: state };
    if (state === 'open') {
      logger.warn(
        { ...fields, cooldownMs: this.route.queue.circuitBreaker?.cooldown },
        'circuit opened: deliveries paused',
      );
    } else
      logger.info(fields, state === 'closed' ? 'circuit closed' : 'circuit half-open: probing the target');
    // The loop may be sleeping through a cooldown that just ended, or waiting on a probe.
    this.notify();
  }

  #setCircuitGauge(current: CircuitState): void {
    for (const state of ['closed', 'open', 'half-open'] as const) {
      this.#s.metrics.circuit.set(
        { route: this.route.id, state: state.replace('-', '_') },
        state === current ? 1 : 0,
      );
    }
  }
}
