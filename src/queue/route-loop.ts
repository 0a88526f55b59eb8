/**
 * The scheduler of one route's queued deliveries (see RouteLoop).
 */

import { HookrelayError } from '../core/errors.ts';
import { AttemptError, outcomeOf, type TargetResponse } from '../delivery/attempt.ts';
import { endAttemptSpan, startAttemptSpan, withTraceContext } from '../delivery/attempt-span.ts';
import type { Clients } from '../delivery/client.ts';
import { type Presentation, sendAttempt } from '../delivery/send-attempt.ts';
import type { Logger } from '../telemetry/log.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { type Span, type Tracer, traceFields } from '../telemetry/tracing.ts';
import { CircuitBreaker, type CircuitState } from './circuit.ts';
import { FailureLog } from './failure-log.ts';
import { buildAttempt, type Decision, decide } from './outcome.ts';
import { TokenBucket } from './rate-limit.ts';
import type { AttemptLog, DeliveryRecord, QueueDriver } from './types.ts';
import type { WorkerRoute } from './worker.ts';

/** What every route loop shares: the store, the HTTP pools, observability, clock and shutdown state. */
export interface Shared {
  driver: QueueDriver;
  clients: Clients;
  metrics: Metrics;
  logger: Logger;
  tracing?: { current: Tracer } | undefined;
  now: () => number;
  pollInterval: number;
  errorBackoff: number;
  random: () => number;
  signal: AbortSignal;
  stopping: boolean;
}

export interface Flight {
  /** 'attempt' until the result is known; 'settling' while it is written to the queue. */
  phase: 'attempt' | 'settling';
  /** Given up at shutdown: its lease is released, so its result must not be written. */
  abandoned: boolean;
  done: Promise<void>;
}

/**
 * One route's scheduler: leases what may start now (concurrency, rate limit, circuit), makes one
 * attempt per record, writes the verdict back, and sleeps until the next record is due, a notify,
 * or the poll interval. It never busy-loops and no error ends it.
 */
export class RouteLoop {
  readonly route: WorkerRoute;
  readonly flights = new Map<string, Flight>();
  releasedAtStop = 0;
  running: Promise<void> = Promise.resolve();
  readonly #s: Shared;
  readonly #idHeaders: readonly string[];
  /** An attempt must end (and be written back) before its lease runs out, or another worker may take it. */
  readonly #timeout: number;
  readonly #presentation: Presentation;
  readonly #circuit: CircuitBreaker | undefined;
  readonly #bucket: TokenBucket | undefined;
  /**
   * Store errors (a full disk fails every result written back, and maybe every lease): logged
   * once per change, for leasing and for writing results apart, so one succeeding while the other
   * fails does not log the pair again and again.
   */
  readonly #leaseErrors: FailureLog;
  readonly #resultErrors: FailureLog;
  #wake: (() => void) | undefined;
  /** A notify that came while the loop was busy: the next sleep returns at once. */
  #woken = false;
  /**
   * Set by a reload that replaced or removed the route: nothing more is leased, attempts in flight
   * finish on the route they started with (its credentials, its pools).
   */
  #retired = false;
  /** The loop this one replaced at a reload, while its attempts are still in flight: they count toward concurrency. */
  #predecessor: RouteLoop | undefined;
  /** The loop that replaced this one: woken as this one's attempts finish. */
  #successor: RouteLoop | undefined;

  /** `predecessor`: the route's loop before a reload; its circuit breaker and rate limit carry over when their settings did not change. */
  constructor(route: WorkerRoute, shared: Shared, predecessor?: RouteLoop) {
    this.route = route;
    this.#s = shared;
    this.#idHeaders = route.queue.idHeaders.map((name) => name.toLowerCase());
    this.#presentation = {
      auth: route.auth,
      sign: route.sign ?? [],
      followRedirects: route.followRedirects ?? 0,
    };
    const { lease } = route.queue;
    this.#timeout = Math.max(
      1,
      Math.min(route.timeouts.attempt, Math.floor(lease - Math.min(1_000, lease / 5))),
    );
    const { rateLimit, circuitBreaker } = route.queue;
    const kept =
      predecessor && predecessor.route.queue.rateLimit === rateLimit ? predecessor.#bucket : undefined;
    this.#bucket =
      rateLimit === undefined ? undefined : (kept ?? new TokenBucket(rateLimit, performance.now()));
    const messages = { failing: 'delivery worker error', recovered: 'delivery worker recovered' };
    this.#leaseErrors = new FailureLog(shared.logger, messages, { route: route.id, stage: 'lease' });
    this.#resultErrors = new FailureLog(shared.logger, messages, { route: route.id, stage: 'result' });
    if (circuitBreaker) {
      const onChange = (state: CircuitState) => this.#circuitChanged(state);
      const old = predecessor ? predecessor.#circuit : undefined;
      // An open circuit stays open across a reload: the target is no better for a new config.
      if (old?.sameOptions(circuitBreaker)) {
        old.rebind(onChange);
        this.#circuit = old;
      } else this.#circuit = new CircuitBreaker(circuitBreaker, onChange);
      this.#setCircuitGauge(this.#circuit.state(performance.now()));
    }
    if (predecessor && predecessor.flights.size > 0) {
      this.#predecessor = predecessor;
      predecessor.#successor = this;
    }
  }

  /**
   * Stops leasing (a reload replaced or removed the route); resolves once the attempts in flight
   * have finished and been written back. What is still pending stays in the store.
   */
  async retire(): Promise<void> {
    this.#retired = true;
    this.notify();
    await this.running;
    while (this.flights.size > 0) await Promise.all([...this.flights.values()].map((f) => f.done));
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
    while (!this.#s.stopping && !this.#retired) {
      let wait: number;
      try {
        wait = await this.#tick();
        this.#leaseErrors.succeeded();
      } catch (error) {
        // A broken store must not end delivery for good: log, back off, try again.
        this.#leaseErrors.failed(error);
        wait = this.#s.errorBackoff;
      }
      if (this.#s.stopping || this.#retired) break;
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
    const before = this.#predecessor;
    if (before && before.flights.size === 0) this.#predecessor = undefined;
    let limit = queue.concurrency - this.flights.size - (this.#predecessor?.flights.size ?? 0);
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
    if (this.#s.stopping || this.#retired) {
      // Leased while shutdown (or a reload's retirement) began: hand them straight back.
      const ids = records.filter((r) => !this.flights.has(r.id)).map((r) => r.id);
      if (ids.length > 0) await driver.release(ids);
      this.releasedAtStop += ids.length;
      return 0;
    }
    // A record of ours whose lease ran out may come back while still in flight: it is ours already.
    const fresh = records.filter((r) => !this.flights.has(r.id) && !this.#predecessor?.flights.has(r.id));
    if (fresh.length > 0) {
      this.#bucket?.take(fresh.length, performance.now());
      this.#circuit?.probe(performance.now());
    }
    for (const record of fresh) {
      // First lease after an operator's replay (from the API, or the CLI in another process).
      if (record.replays > 0 && record.attempts === 0) {
        this.#s.metrics.queueFinished.inc({ route: id, outcome: 'replayed' });
      }
      this.#launch(record);
    }
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
      .then(
        () => this.#resultErrors.succeeded(),
        // The record stays leased and is retried when the lease expires.
        (error: unknown) => this.#resultErrors.failed(error, { deliveryId: record.id }),
      )
      .finally(() => {
        this.flights.delete(record.id);
        this.notify();
        this.#successor?.notify();
      });
  }

  async #deliver(record: DeliveryRecord, flight: Flight): Promise<void> {
    const { clients, metrics, now, signal } = this.#s;
    const route = this.route;
    const at = now();
    const started = performance.now();
    // Redirect hops and the repeat after a 401 share the attempt's time: it must end within the lease.
    const endBy = started + this.#timeout;
    let result: TargetResponse | Error;
    let span: Span | undefined;
    try {
      const { origin, request } = buildAttempt(record, this.#idHeaders, route);
      const tracer = this.#s.tracing?.current;
      // A new trace per attempt, linked to the accepting request (OpenTelemetry messaging conventions).
      if (tracer?.enabled) {
        span = startAttemptSpan(
          { tracer, ...(record.trace ? { links: [record.trace] } : {}) },
          request,
          record.attempts + 1,
        );
        span.setAttributes({ 'hookrelay.route': route.id, 'hookrelay.delivery_id': record.id });
      }
      const pool = clients.get(origin, route.timeouts.connect, route.tls);
      result = await sendAttempt(
        pool,
        span ? withTraceContext(request, span) : request,
        this.#presentation,
        { routeId: route.id, id: record.id, metrics },
        {
          deadline: endBy,
          options: () => {
            const remaining = Math.round(endBy - performance.now());
            if (remaining < 1)
              throw new AttemptError('timeout', `attempt timed out after ${this.#timeout} ms`);
            return { timeout: remaining, responseLimit: route.responseLimit, signal };
          },
          record: (exchange, at) => {
            const outcome = outcomeOf(exchange);
            metrics.forwardAttempts.inc({ route: route.id, outcome });
            metrics.upstreamDuration.observe({ route: route.id, outcome }, (performance.now() - at) / 1000);
          },
        },
      );
    } catch (error) {
      result = error instanceof Error ? error : new Error(String(error));
    }
    if (flight.abandoned) {
      span?.end();
      return;
    }
    flight.phase = 'settling';
    const seconds = (performance.now() - started) / 1000;
    const finished = now();
    if (record.attempts > 0) metrics.forwardRetries.inc({ route: route.id });
    const decision = decide(record, result, route, finished, this.#s.random);
    if (span) endAttemptSpan(span, result, decision.kind === 'retry');
    this.#updateCircuit(result);
    const log: AttemptLog = {
      at,
      durationMs: Math.round(seconds * 1000),
      status: result instanceof Error ? undefined : result.status,
      error: result instanceof Error ? result.message : undefined,
      code: result instanceof Error ? errorCode(result) : undefined,
      ...traceFields(span),
    };
    await this.#settle(record, decision, log);
    metrics.queueFinished.inc({ route: route.id, outcome: decision.kind });
    this.#logAttempt(record, decision, log, span);
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
      !(result instanceof Error) &&
      (!this.route.retry.retryOn(result.status) || (result.status >= 200 && result.status < 300));
    const mono = performance.now();
    if (reachable) circuit.success(mono);
    else circuit.failure(mono);
  }

  #logAttempt(record: DeliveryRecord, decision: Decision, attempt: AttemptLog, span?: Span): void {
    const fields = {
      ...traceFields(span),
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

/**
 * The code stored with a failed attempt, for filtered replays: a HookrelayError's own (a token
 * endpoint that failed, a refused redirect), and for an attempt that got no answer the code the
 * sync path reports for it (no answer in time: UPSTREAM_TIMEOUT; refused, reset, DNS:
 * UPSTREAM_UNREACHABLE). An answer has no code: its status is stored.
 */
export function errorCode(error: Error): string | undefined {
  if (error instanceof HookrelayError) return error.code;
  if (error instanceof AttemptError)
    return error.kind === 'network_error'
      ? 'HOOKRELAY_ERR_UPSTREAM_UNREACHABLE'
      : 'HOOKRELAY_ERR_UPSTREAM_TIMEOUT';
  return undefined;
}
