/**
 * Worker threads that parse large bodies off the event loop, so one caller's 1 MB XML document
 * does not hold up every other request and the health endpoints (issue 11, item 4). Small bodies
 * stay inline: below `workerThreshold` the parse costs less than a thread hop.
 *
 * - Lazy: no thread exists until the first large body; each ends after `idleTimeout` idle, so an
 *   idle relay holds no worker memory. At most `workers` threads (default: the cores available).
 * - Bounded: a large body waits for a thread in a queue of `queue` places; beyond it a request
 *   step is refused at once with 503 HOOKRELAY_ERR_TRANSFORM_BUSY. A `response.transform` step
 *   is never refused (the target already has the request): it waits, ahead of request steps.
 * - Isolated: each thread's heap is capped (`workerMemory`); a document that needs more kills
 *   only its thread and is refused with 413. Any thread that dies fails only the body it held;
 *   the others keep waiting and get a new thread.
 * - Polite: a thread lowers its own priority (parse-worker.ts), so where threads and the event
 *   loop share a core, the loop wins it.
 * - `isLarge` also decides which bodies take a turn of the event loop of their own (turns.ts).
 * - The worker (parse-worker.ts) builds its own parser from the step's config: the parser's
 *   options hold functions, which cannot be sent to a thread. Bytes go in as a transferred copy,
 *   the value comes back by structured clone.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type ErrorCode, type ErrorParams, HookrelayError } from '../core/errors.ts';
import { parseJsonText } from '../core/json.ts';
import type { Logger } from '../telemetry/log.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { busy, tooComplex } from '../transforms/errors.ts';
import type { ParseJob, ParseService } from '../transforms/types.ts';

export type { ParseJob } from '../transforms/types.ts';

export interface ParsePoolOptions {
  /** Bodies of at least this many bytes go to a worker. */
  workerThreshold: number;
  /** Threads at most; undefined: the cores available to the process; 0: no threads (all inline). */
  workers?: number | undefined;
  /** Bodies that may wait for a busy thread before request steps are refused. */
  queue: number;
  /** ms a thread may sit idle before it is ended. */
  idleTimeout: number;
  /** Bytes of V8 old-generation heap per thread. */
  workerMemory: number;
}

/** What a worker posts back for the job with `id`. */
export type WorkerReply =
  | { id: number; value: unknown }
  /** A value holding numbers kept with their exact digits (JSON.rawJSON cannot be cloned): as JSON. */
  | { id: number; json: string }
  | { id: number; error: { code: ErrorCode; params: ErrorParams } }
  | { id: number; failure: string };

export interface RunOptions {
  /** The route label for metrics. */
  routeId: string;
  /** Refuse with 503 when the queue is full (request steps); otherwise wait (response steps). */
  refuseWhenBusy: boolean;
}

/** Seconds a refused caller is asked to wait: a queue's worth of large documents takes about that. */
const RETRY_AFTER = 1;
const WORKER_SCRIPT = new URL('./worker.ts', import.meta.url);

interface Task {
  id: number;
  job: ParseJob;
  routeId: string;
  enqueued: number;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

interface Slot {
  worker: Worker;
  task: Task | undefined;
  idle: NodeJS.Timeout | undefined;
  /** Why the thread died, from its 'error' event (before 'exit'). */
  failure: (Error & { code?: string }) | undefined;
}

export class ParsePool implements ParseService {
  readonly threshold: number;
  readonly size: number;
  readonly #options: ParsePoolOptions;
  readonly #metrics: Metrics | undefined;
  readonly #logger: Logger | undefined;
  readonly #slots = new Set<Slot>();
  /** Response steps' bodies, served before request steps' (`#waiting`). */
  readonly #urgent: Task[] = [];
  readonly #waiting: Task[] = [];
  #nextId = 0;
  #closed = false;

  constructor(options: ParsePoolOptions, hooks: { metrics?: Metrics; logger?: Logger } = {}) {
    this.#options = options;
    this.threshold = options.workerThreshold;
    this.size = options.workers ?? availableParallelism();
    this.#metrics = hooks.metrics;
    this.#logger = hooks.logger;
  }

  /** True for a body of `workerThreshold` or more: it takes its own turn of the event loop (turns.ts). */
  isLarge(bytes: number): boolean {
    return bytes >= this.threshold;
  }

  /** True when a body of this many bytes is parsed by a worker thread rather than inline. */
  offloads(bytes: number): boolean {
    return this.size > 0 && this.isLarge(bytes);
  }

  /** Threads running now. */
  get workers(): number {
    return this.#slots.size;
  }

  /** Bodies waiting for a thread. */
  get queued(): number {
    return this.#urgent.length + this.#waiting.length;
  }

  /** Parses a body in a worker thread: the value, or the step's HookrelayError. */
  run(job: ParseJob, options: RunOptions): Promise<unknown> {
    const { routeId } = options;
    if (this.#closed) {
      this.#count(routeId, 'shutdown');
      return Promise.reject(new HookrelayError('HOOKRELAY_ERR_SHUTTING_DOWN'));
    }
    if (options.refuseWhenBusy && this.#busyCount() + this.queued >= this.size + this.#options.queue) {
      this.#count(routeId, 'busy');
      return Promise.reject(busy(job.step, this.#options.queue, RETRY_AFTER));
    }
    return new Promise((resolve, reject) => {
      const task = { id: ++this.#nextId, job, routeId, enqueued: performance.now(), resolve, reject };
      (options.refuseWhenBusy ? this.#waiting : this.#urgent).push(task);
      this.#dispatch();
    });
  }

  /** Refuses what waits, ends every thread (failing what they held), and refuses what comes later. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const task of [...this.#urgent.splice(0), ...this.#waiting.splice(0)]) {
      this.#count(task.routeId, 'shutdown');
      task.reject(new HookrelayError('HOOKRELAY_ERR_SHUTTING_DOWN'));
    }
    await Promise.all([...this.#slots].map((slot) => slot.worker.terminate()));
    this.#gauges();
  }

  #busyCount(): number {
    let n = 0;
    for (const slot of this.#slots) if (slot.task) n++;
    return n;
  }

  #dispatch(): void {
    while (this.queued > 0) {
      let slot: Slot | undefined;
      for (const s of this.#slots) {
        if (!s.task) {
          slot = s;
          break;
        }
      }
      if (!slot && this.#slots.size < this.size) slot = this.#spawn();
      if (!slot) break;
      this.#assign(slot, (this.#urgent.shift() ?? this.#waiting.shift())!);
    }
    this.#gauges();
  }

  #spawn(): Slot {
    const worker = new Worker(WORKER_SCRIPT, {
      resourceLimits: {
        maxOldGenerationSizeMb: Math.max(1, Math.round(this.#options.workerMemory / 2 ** 20)),
      },
    });
    const slot: Slot = { worker, task: undefined, idle: undefined, failure: undefined };
    this.#slots.add(slot);
    worker.on('message', (reply: WorkerReply) => this.#settle(slot, reply));
    worker.on('error', (error: Error) => {
      slot.failure = error;
    });
    worker.on('exit', () => this.#exited(slot));
    return slot;
  }

  #assign(slot: Slot, task: Task): void {
    clearTimeout(slot.idle);
    slot.idle = undefined;
    slot.task = task;
    slot.worker.ref();
    this.#metrics?.parseWait.observe((performance.now() - task.enqueued) / 1000);
    // A copy of the bytes is transferred: the caller's body stays usable (templates, the queue).
    const bytes = new Uint8Array(task.job.bytes);
    slot.worker.postMessage({ id: task.id, job: { ...task.job, bytes } }, [bytes.buffer]);
  }

  #settle(slot: Slot, reply: WorkerReply): void {
    const task = slot.task;
    if (!task || task.id !== reply.id) return;
    slot.task = undefined;
    if ('value' in reply) {
      this.#count(task.routeId, 'parsed');
      task.resolve(reply.value);
    } else if ('json' in reply) {
      this.#count(task.routeId, 'parsed');
      // The text was written by the worker: only its numbers' digits need bringing back.
      task.resolve(parseJsonText(reply.json, Number.POSITIVE_INFINITY));
    } else if ('error' in reply) {
      this.#count(task.routeId, 'refused');
      task.reject(new HookrelayError(reply.error.code, reply.error.params));
    } else {
      this.#count(task.routeId, 'failed');
      this.#logger?.error(
        { route: task.routeId, step: task.job.step, err: reply.failure },
        'parse worker failed',
      );
      task.reject(new HookrelayError('HOOKRELAY_ERR_INTERNAL', {}, { cause: new Error(reply.failure) }));
    }
    if (this.queued > 0) this.#assign(slot, (this.#urgent.shift() ?? this.#waiting.shift())!);
    else this.#rest(slot);
    this.#gauges();
  }

  /** An idle thread is unreferenced (it never holds the process open) and ended after idleTimeout. */
  #rest(slot: Slot): void {
    slot.worker.unref();
    slot.idle = setTimeout(() => {
      // Out of the set first, so no body is given to a thread that is ending.
      this.#slots.delete(slot);
      this.#gauges();
      void slot.worker.terminate();
    }, this.#options.idleTimeout);
    slot.idle.unref();
  }

  #exited(slot: Slot): void {
    clearTimeout(slot.idle);
    this.#slots.delete(slot);
    const task = slot.task;
    slot.task = undefined;
    if (task) {
      if (this.#closed) {
        this.#count(task.routeId, 'shutdown');
        task.reject(new HookrelayError('HOOKRELAY_ERR_SHUTTING_DOWN'));
      } else {
        this.#count(task.routeId, 'failed');
        task.reject(this.#failure(slot, task));
      }
    }
    // The bodies still waiting get a new thread.
    if (!this.#closed) this.#dispatch();
    this.#gauges();
  }

  #failure(slot: Slot, task: Task): HookrelayError {
    const { failure } = slot;
    if (failure?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
      const mb = Math.round(this.#options.workerMemory / 2 ** 20);
      this.#logger?.warn(
        { route: task.routeId, step: task.job.step, workerMemory: this.#options.workerMemory },
        'parse worker ran out of memory; it was replaced',
      );
      return tooComplex(
        task.job.step,
        'XML',
        `parsing it needed more than the ${mb} MB a parsing worker has (parsing.workerMemory)`,
        'parsing.workerMemory',
      );
    }
    this.#logger?.error({ route: task.routeId, step: task.job.step, err: failure }, 'parse worker died');
    return new HookrelayError(
      'HOOKRELAY_ERR_INTERNAL',
      {},
      { cause: failure ?? new Error('parse worker exited') },
    );
  }

  #count(route: string, outcome: 'parsed' | 'refused' | 'busy' | 'failed' | 'shutdown'): void {
    this.#metrics?.parseJobs.inc({ route, outcome });
  }

  #gauges(): void {
    this.#metrics?.parseWorkers.set(this.#slots.size);
    this.#metrics?.parseQueued.set(this.queued);
  }
}
