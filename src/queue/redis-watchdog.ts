/**
 * The redis driver's watchdog: finds the connections and stalled-job checks that stopped working
 * while Redis itself is fine, and rebuilds them; readiness reflects it.
 *
 * Why: workers on Redis are known to stop after a Redis restart or failover (BullMQ issues #2466,
 * #2964, #3185): a socket the kernel still holds open but no reply ever comes back on (a
 * half-open TCP connection after a failover, a proxy or NAT that dropped its state), a
 * reconnect that never finished, a stalled-job checker that no longer runs. A relay in that state
 * accepts webhooks but delivers none, and nothing else notices.
 *
 * Every interval it checks, for each connection of the driver (producer, workers), that a PING is
 * answered within a bound. A connection that does not answer is dropped and reconnected
 * (ioredis `disconnect(true)`): what waited on it rejects, and the callers retry on the new
 * socket. When every connection fails, Redis itself is down or paused, which readiness already
 * says; reconnecting then is harmless. It also checks that the stalled-job recovery runs: a job
 * active without a lock (its lease ended) is moved back by the next two stalled checks of any
 * instance; one still there after three intervals means no check ran, and the checks are started
 * again. Each rebuild is counted and logged with its reason.
 */
import type { Redis } from 'ioredis';

export interface WatchedConnection {
  name: string;
  client: Redis;
}

export interface WatchdogOptions {
  /** ms between checks. */
  intervalMs: number;
  /** ms a PING may take before the connection counts as stuck. */
  probeTimeoutMs: number;
  /** ms after which a job active without a lock proves the stalled checks stopped. */
  stalledAfterMs: number;
  connections: () => WatchedConnection[];
  /** Ids of jobs active without a lock (leases ended), per route, read through a connection that answers. */
  unlocked: () => Promise<string[]>;
  /** Starts the stalled-job checks of this instance's workers again. */
  restartStalledChecks: () => Promise<void>;
  onRebuild: (what: string, reason: string) => void;
}

export interface WatchdogState {
  ready: boolean;
  reason?: string;
  rebuilds: number;
}

const PROBE = Symbol('probe-timeout');

export class Watchdog {
  readonly #options: WatchdogOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  /** Unlocked active job → when it was first seen so. */
  readonly #unlockedSince = new Map<string, number>();
  #state: WatchdogState = { ready: true, rebuilds: 0 };

  constructor(options: WatchdogOptions) {
    this.#options = options;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      this.#running ??= this.check().finally(() => {
        this.#running = undefined;
      });
    }, this.#options.intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => {});
  }

  get state(): WatchdogState {
    return { ...this.#state };
  }

  /** One round of checks (the timer runs them; tests may call it). */
  async check(): Promise<void> {
    const connections = this.#options.connections();
    const answers = await Promise.all(connections.map((c) => this.#probe(c.client)));
    const stuck = connections.filter((_, i) => !answers[i]);
    if (stuck.length === connections.length) {
      // Nothing answers: Redis is down or paused. Reconnect what claims to be connected, so a
      // socket left half-open by a failover does not outlive Redis' return.
      for (const c of stuck) if (c.client.status === 'ready') this.#reconnect(c, 'redis not answering');
      this.#state = { ...this.#state, ready: false, reason: 'redis not answering' };
      return;
    }
    for (const c of stuck) this.#reconnect(c, `no answer to PING within ${this.#options.probeTimeoutMs} ms`);
    if (stuck.length > 0) {
      this.#state = {
        ...this.#state,
        ready: false,
        reason: `${stuck.map((c) => c.name).join(', ')} rebuilt`,
      };
      return;
    }
    await this.#checkStalled();
    this.#state = { ready: true, rebuilds: this.#state.rebuilds };
  }

  async #checkStalled(): Promise<void> {
    let ids: string[];
    try {
      ids = await this.#options.unlocked();
    } catch {
      return; // the next round asks again
    }
    const now = Date.now();
    const current = new Set(ids);
    for (const id of this.#unlockedSince.keys()) if (!current.has(id)) this.#unlockedSince.delete(id);
    for (const id of ids) if (!this.#unlockedSince.has(id)) this.#unlockedSince.set(id, now);
    const overdue = [...this.#unlockedSince.values()].some(
      (since) => now - since > this.#options.stalledAfterMs,
    );
    if (!overdue) return;
    this.#unlockedSince.clear();
    this.#state = { ...this.#state, rebuilds: this.#state.rebuilds + 1 };
    this.#options.onRebuild('stalled checks', 'a job whose lease ended was not recovered');
    await this.#options.restartStalledChecks().catch(() => {});
  }

  #reconnect(connection: WatchedConnection, reason: string): void {
    this.#state = { ...this.#state, rebuilds: this.#state.rebuilds + 1 };
    this.#options.onRebuild(connection.name, reason);
    connection.client.disconnect(true);
  }

  async #probe(client: Redis): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<typeof PROBE>((resolve) => {
      timer = setTimeout(() => resolve(PROBE), this.#options.probeTimeoutMs);
    });
    try {
      const answer = await Promise.race([client.ping(), timeout]);
      return answer === 'PONG';
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}
