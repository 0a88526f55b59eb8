/**
 * A driver or replay store whose module is imported on open rather than at start (the redis
 * driver's BullMQ and ioredis): it stands in for the real one at once, so opening stays
 * synchronous, and hands every call to it once the import resolved. Until then the store reports
 * itself not ready (the readiness probe says so) and calls wait; a failed import rejects them all
 * with its error, and the relay's start, which waits for the queue, fails with it.
 */
import type { SharedReplayStore } from '../verifiers/replay.ts';
import type { QueueDriver } from './types.ts';

export class LazyDriver implements QueueDriver {
  readonly kind: string;
  readonly #driver: Promise<QueueDriver>;
  #ready: QueueDriver | undefined;
  #failed: unknown;

  constructor(kind: string, driver: Promise<QueueDriver>) {
    this.kind = kind;
    this.#driver = driver;
    driver.then(
      (d) => {
        this.#ready = d;
      },
      (error: unknown) => {
        this.#failed = error;
      },
    );
  }

  /** The driver once loaded (rejects with the import's error). */
  loaded(): Promise<QueueDriver> {
    return this.#driver;
  }

  #call<T>(use: (driver: QueueDriver) => Promise<T>): Promise<T> {
    return this.#ready ? use(this.#ready) : this.#driver.then(use);
  }

  enqueue: QueueDriver['enqueue'] = (delivery) => this.#call((d) => d.enqueue(delivery));
  lease: QueueDriver['lease'] = (...args) => this.#call((d) => d.lease(...args));
  ack: QueueDriver['ack'] = (...args) => this.#call((d) => d.ack(...args));
  nack: QueueDriver['nack'] = (...args) => this.#call((d) => d.nack(...args));
  dead: QueueDriver['dead'] = (...args) => this.#call((d) => d.dead(...args));
  restore: QueueDriver['restore'] = (...args) => this.#call((d) => d.restore(...args));
  release: QueueDriver['release'] = (ids) => this.#call((d) => d.release(ids));
  replay: QueueDriver['replay'] = (...args) => this.#call((d) => d.replay(...args));
  count: QueueDriver['count'] = (filter) => this.#call((d) => d.count(filter));
  purge: QueueDriver['purge'] = (filter) => this.#call((d) => d.purge(filter));
  get: QueueDriver['get'] = (id) => this.#call((d) => d.get(id));
  list: QueueDriver['list'] = (filter) => this.#call((d) => d.list(filter));
  stats: QueueDriver['stats'] = () => this.#call((d) => d.stats());
  nextDue: QueueDriver['nextDue'] = (routeId) => this.#call((d) => d.nextDue(routeId));
  // Closing a driver whose import failed has nothing to close.
  close: QueueDriver['close'] = () =>
    this.#driver.then(
      (d) => d.close(),
      () => {},
    );
  configureRoute: NonNullable<QueueDriver['configureRoute']> = (routeId, limits) =>
    this.#call(async (d) => {
      await d.configureRoute?.(routeId, limits);
    });
  readiness(): { ready: boolean; reason?: string; rebuilds?: number } {
    if (this.#ready) return this.#ready.readiness?.() ?? { ready: true };
    if (this.#failed !== undefined) return { ready: false, reason: `the ${this.kind} driver failed to load` };
    return { ready: false, reason: `the ${this.kind} driver is loading` };
  }
}

export class LazyReplayStore implements SharedReplayStore {
  readonly #store: Promise<SharedReplayStore>;
  #ready: SharedReplayStore | undefined;

  constructor(store: Promise<SharedReplayStore>) {
    this.#store = store;
    store.then(
      (s) => {
        this.#ready = s;
      },
      () => {},
    );
  }

  claim: SharedReplayStore['claim'] = (...args) =>
    this.#ready ? this.#ready.claim(...args) : this.#store.then((s) => s.claim(...args));
  ready(): boolean {
    return this.#ready?.ready() ?? false;
  }
  close(): Promise<void> {
    return this.#store.then(
      (s) => s.close(),
      () => {},
    );
  }
}
