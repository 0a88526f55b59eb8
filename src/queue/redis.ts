/**
 * The redis queue driver, on BullMQ: one BullMQ queue per route (named by the route id), so
 * limits and fairness hold per target; a delivery is one job (jobId = delivery id, the record in
 * its data, see redis-record.ts) and its status is the job's state: waiting/delayed = pending,
 * active = inflight (a lease is BullMQ's job lock, `lockDuration` = the lease), completed =
 * delivered, failed = dead letters. Every instance pointing at one Redis shares the queue.
 *
 * What BullMQ does for us: taking due jobs (a manual Worker per route, `getNextJob` without
 * blocking), delayed retries (`moveToDelayed`), and recovering the jobs of a dead instance: a
 * job whose lock expired is moved back to wait by the stalled checker of any live instance, and
 * never to the failed set (a huge `maxStalledCount`), because an acknowledged webhook is never lost.
 * Global limits (configureRoute) are BullMQ's too: `setGlobalConcurrency` caps the jobs active at
 * once across ALL instances, `setGlobalRateLimit` the jobs started per second across all
 * instances; nothing else here is global (per-instance limits stay in the route loop).
 *
 * Our own keys, under the same prefix: `<prefix>:routes` (a set of the route ids seen, so get,
 * list and stats find every queue, also from the CLI), `<prefix>:route-of` (delivery id → route)
 * and `<prefix>:dedup:<route>:<key>` (SET NX PX); the replay window's keys are redis-replay.ts'.
 *
 * The injected clock: `lease(…, now)` with a `now` ahead of this host's clock (another instance's
 * clock, or a test) promotes the delayed jobs due by then; lock expiry follows Redis' real clock.
 * Reads across jobs and the stats are in redis-jobs.ts, the operator's list/count/replay/purge in
 * redis-operator.ts (their bounded, paged scans in redis-scan.ts), restoring a record moved from another store (migrate) in redis-restore.ts.
 */
import { randomUUID } from 'node:crypto';
import { Job, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { RouteJobs } from './redis-jobs.ts';
import { listJobs, nextDueOf, purgeJobs, replayJobs } from './redis-operator.ts';
import { attemptsOf, type JobData, newJobData, strip, toRecord, withAttempt } from './redis-record.ts';
import { replicated, restoreJob } from './redis-restore.ts';
import { countMatching } from './redis-scan.ts';
import { producerOptions, type RedisSettings, workerOptions } from './redis-settings.ts';
import { Watchdog } from './redis-watchdog.ts';
import {
  type AttemptLog,
  type DeliveryFilter,
  type DeliveryRecord,
  type DeliveryStatus,
  type DriverOptions,
  DuplicateDelivery,
  keepAttemptsOf,
  type ListFilter,
  type NewDelivery,
  type QueueDriver,
  type QueueStats,
  type ReplayFilter,
  type RouteLimits,
} from './types.ts';

export interface RedisDriverOptions extends DriverOptions {
  /** ms between BullMQ's checks for jobs whose lock (lease) expired; recovery takes up to two. */
  stalledIntervalMs?: number | undefined;
  /** ms between the watchdog's checks (redis-watchdog.ts); default the stalled interval. */
  watchdogIntervalMs?: number | undefined;
  /** ms a job may stay active without a lock before the watchdog restarts the stalled checks (3 intervals). */
  stalledAfterMs?: number | undefined;
  /** Told of every connection or stalled check the watchdog rebuilt, and why. */
  onRebuild?: ((what: string, reason: string) => void) | undefined;
}

/** A job leased by this instance: the lock token proves it is still ours. */
interface Held {
  job: Job<JobData>;
  token: string;
  data: JobData;
}

const CLOSE_TIMEOUT_MS = 3_000;

export class RedisDriver implements QueueDriver {
  readonly kind = 'redis';
  readonly #settings: RedisSettings;
  readonly #keep: number;
  readonly #stalledInterval: number;
  /** Enqueue, reads, admin: fails fast while Redis is down. */
  readonly #producer: Redis;
  /** Shared by the workers (BullMQ duplicates it for their blocking connection). */
  readonly #workerClient: Redis;
  readonly #jobs: RouteJobs;
  readonly #workers = new Map<string, Promise<Worker<JobData>>>();
  readonly #held = new Map<string, Held>();
  readonly #firstReady: Promise<void>;
  readonly #watchdog: Watchdog;
  #closed = false;

  constructor(settings: RedisSettings, options: RedisDriverOptions = {}) {
    this.#settings = settings;
    this.#keep = keepAttemptsOf(options);
    this.#stalledInterval = options.stalledIntervalMs ?? 5_000;
    this.#producer = new Redis(producerOptions(settings));
    this.#workerClient = new Redis(workerOptions(settings));
    // ioredis reports every failed reconnect as an 'error' event; the calls that fail say it.
    this.#producer.on('error', () => {});
    this.#workerClient.on('error', () => {});
    // Without the offline queue a command sent before the first connect fails: wait for it once.
    this.#firstReady = new Promise<void>((resolve) => {
      if (this.#producer.status === 'ready') resolve();
      else this.#producer.once('ready', () => resolve());
    });
    this.#jobs = new RouteJobs(this.#producer, settings.prefix);
    this.#watchdog = new Watchdog({
      intervalMs: options.watchdogIntervalMs ?? this.#stalledInterval,
      probeTimeoutMs: Math.max(1_000, 2 * settings.commandTimeout),
      // Two stalled checks move an unlocked job back; a third interval of slack.
      stalledAfterMs: options.stalledAfterMs ?? 3 * this.#stalledInterval,
      connections: () => [
        { name: 'producer connection', client: this.#producer },
        { name: 'worker connection', client: this.#workerClient },
      ],
      unlocked: () => this.#jobs.unlockedActive([...this.#workers.keys()]),
      restartStalledChecks: async () => {
        for (const worker of await Promise.all(this.#workers.values())) await worker.startStalledCheckTimer();
      },
      onRebuild: options.onRebuild ?? (() => {}),
    });
    this.#watchdog.start();
  }

  /** One round of the watchdog's checks now (it runs them on its own timer too). */
  watchdogCheck(): Promise<void> {
    return this.#watchdog.check();
  }

  /** The connection of the producer (for redisDurability at start). */
  get client(): Redis {
    return this.#producer;
  }

  async #check(): Promise<void> {
    if (this.#closed) throw new Error('queue is closed');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#firstReady,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.#settings.connectTimeout);
      }),
    ]);
    clearTimeout(timer);
  }

  readiness(): { ready: boolean; reason?: string; rebuilds: number } {
    const status = this.#producer.status;
    const watch = this.#watchdog.state;
    if (status !== 'ready')
      return { ready: false, reason: `redis connection ${status}`, rebuilds: watch.rebuilds };
    return watch.ready
      ? { ready: true, rebuilds: watch.rebuilds }
      : { ready: false, reason: watch.reason ?? 'watchdog', rebuilds: watch.rebuilds };
  }

  #key(name: string): string {
    return `${this.#settings.prefix}:${name}`;
  }

  async enqueue(delivery: NewDelivery): Promise<void> {
    await this.#check();
    const { id, routeId } = delivery;
    // Two commands written together, no MULTI: ioredis builds a pipeline object per MULTI by
    // copying every script BullMQ defined on the connection (about 90 µs a call, measured by the
    // redis bench), and SADD is idempotent, so nothing needs the two to be atomic.
    const [claimed, listed] = await Promise.allSettled([
      this.#producer.hsetnx(this.#key('route-of'), id, routeId),
      this.#producer.sadd(this.#key('routes'), routeId),
    ]);
    if (claimed.status === 'rejected') throw claimed.reason;
    if (claimed.value !== 1) throw new Error(`delivery ${id} already exists`);
    if (listed.status === 'rejected') {
      await this.#producer.hdel(this.#key('route-of'), id).catch(() => {});
      throw listed.reason;
    }
    let dedupKey: string | undefined;
    try {
      if (delivery.dedup) dedupKey = await this.#claimDedup(delivery);
      await this.#jobs.queue(routeId).add('delivery', newJobData(delivery), {
        jobId: id,
        // Through the delayed set, scored by nextAttemptAt, so jobs start in due order.
        timestamp: delivery.createdAt,
        delay: Math.max(1, delivery.nextAttemptAt - delivery.createdAt),
      });
    } catch (error) {
      // Not stored: forget the id and the dedup key, so the sender's retry gets through.
      await Promise.allSettled([
        this.#producer.hdel(this.#key('route-of'), id),
        ...(dedupKey === undefined ? [] : [this.#producer.del(dedupKey)]),
      ]);
      throw error;
    }
    // Stored on the primary either way: a reject means "not yet safe", the sender retries.
    await replicated(this.#producer, this.#settings, id);
  }

  async restore(record: DeliveryRecord, attempts: AttemptLog[]): Promise<'restored' | 'exists'> {
    await this.#check();
    return restoreJob(
      { client: this.#producer, jobs: this.#jobs, settings: this.#settings },
      record,
      attempts,
    );
  }

  /** SET NX PX; the key's value names the first delivery and when its window ends by its clock. */
  async #claimDedup(delivery: NewDelivery): Promise<string> {
    const { key, windowMs } = delivery.dedup!;
    const redisKey = this.#key(`dedup:${delivery.routeId}:${key}`);
    const expiresAt = delivery.createdAt + windowMs;
    const ttl = Math.max(1, expiresAt - Date.now());
    const value = `${delivery.id} ${expiresAt}`;
    if ((await this.#producer.set(redisKey, value, 'PX', ttl, 'NX')) === 'OK') return redisKey;
    const existing = await this.#producer.get(redisKey);
    if (existing !== null) {
      const [firstId, until] = existing.split(' ');
      if (Number(until) > delivery.createdAt) throw new DuplicateDelivery(firstId!);
    }
    // The window ended by the caller's clock (clocks of instances differ by a little): take it.
    await this.#producer.set(redisKey, value, 'PX', ttl);
    return redisKey;
  }

  #worker(routeId: string): Promise<Worker<JobData>> {
    let worker = this.#workers.get(routeId);
    if (!worker) {
      worker = (async () => {
        const w = new Worker<JobData>(routeId, null, {
          connection: this.#workerClient,
          prefix: this.#settings.prefix,
          autorun: false,
          // A stalled job must come back to wait, never fail: an accepted webhook is never lost.
          maxStalledCount: Number.MAX_SAFE_INTEGER,
          stalledInterval: this.#stalledInterval,
          // A lease is not renewed: it ends when the attempt should have (the route loop's rule).
          skipLockRenewal: true,
        });
        w.on('error', () => {});
        await w.startStalledCheckTimer();
        return w;
      })();
      this.#workers.set(routeId, worker);
    }
    return worker;
  }

  async lease(routeId: string, limit: number, leaseMs: number, now: number): Promise<DeliveryRecord[]> {
    await this.#check();
    limit = Math.floor(limit);
    if (!(limit > 0)) return [];
    const worker = await this.#worker(routeId);
    // The lock BullMQ takes is the lease: its length is read from the options at each take.
    worker.opts.lockDuration = leaseMs;
    if (now > Date.now()) await this.#jobs.promoteDue(routeId, now, limit);
    const leased: DeliveryRecord[] = [];
    while (leased.length < limit) {
      const token = randomUUID();
      const job = (await worker.getNextJob(token, { block: false })) as Job<JobData> | undefined;
      if (!job?.id) break;
      // Settled through the producer's queue: an ack or a retry goes over the fail-fast
      // connection, and never waits on the worker's blocking connection (which a Redis restart
      // can leave stuck); the lock token is what proves the lease, whichever connection sends it.
      const bound = Job.fromJSON<JobData>(this.#jobs.queue(routeId), job.asJSON(), job.id) as Job<JobData>;
      const data: JobData = { ...job.data, leaseUntil: now + leaseMs, updatedAt: now };
      await bound.updateData(data);
      this.#held.set(job.id, { job: bound, token, data });
      leased.push(toRecord(job.id, data, 'inflight'));
    }
    return leased;
  }

  /** The lease of `id` when still ours: a worker whose lease expired must not change the record. */
  async #ours(id: string): Promise<Held | undefined> {
    const held = this.#held.get(id);
    if (!held) return undefined;
    this.#held.delete(id);
    const lock = await this.#producer.get(`${this.#jobs.queue(held.data.routeId).toKey(id)}:lock`);
    return lock === held.token ? held : undefined;
  }

  async ack(
    id: string,
    result: { status: number; response: string | undefined; attempt: AttemptLog },
  ): Promise<void> {
    await this.#check();
    const held = await this.#ours(id);
    if (!held) return;
    const now = Date.now();
    const data = strip({
      ...withAttempt(held.data, result.attempt, this.#keep),
      leaseUntil: undefined,
      updatedAt: now,
      deliveredAt: now,
      lastStatus: result.status,
      lastError: undefined,
      lastCode: undefined,
      lastResponse: result.response,
    });
    await held.job.updateData(data);
    await ignoreStale(held.job.moveToCompleted({ status: result.status }, held.token, false));
  }

  async nack(
    id: string,
    result: { nextAttemptAt: number; attempt: AttemptLog; response?: string | undefined },
  ): Promise<void> {
    await this.#check();
    const held = await this.#ours(id);
    if (!held) return;
    const data = strip({
      ...withAttempt(held.data, result.attempt, this.#keep),
      leaseUntil: undefined,
      nextAttemptAt: result.nextAttemptAt,
      updatedAt: Date.now(),
      lastStatus: result.attempt.status,
      lastError: result.attempt.error,
      lastCode: result.attempt.code,
      lastResponse: result.response,
    });
    await held.job.updateData(data);
    await ignoreStale(held.job.moveToDelayed(result.nextAttemptAt, held.token));
  }

  async dead(
    id: string,
    result: { reason: string; attempt?: AttemptLog | undefined; response?: string | undefined },
  ): Promise<void> {
    await this.#check();
    let job: Job<JobData>;
    let token: string;
    let data: JobData;
    const leasedHere = this.#held.has(id);
    const held = await this.#ours(id);
    if (held) {
      ({ job, token, data } = held);
    } else if (leasedHere) {
      return; // our lease expired: whoever holds it now decides
    } else {
      // Not leased here: a pending record may still be given up (an operator, maxAge).
      const found = await this.#jobs.find(id);
      if (found?.status !== 'pending') return;
      if (!(await this.#jobs.takePending(found.job.data.routeId, id))) return;
      job = found.job;
      token = '0';
      data = found.job.data;
    }
    let next = data;
    if (result.attempt) {
      const { status, code } = result.attempt;
      next = { ...withAttempt(data, result.attempt, this.#keep), lastStatus: status, lastCode: code };
      next.lastResponse = result.response;
    } else if (result.response !== undefined) {
      next = { ...next, lastResponse: result.response };
    }
    next = strip({ ...next, leaseUntil: undefined, updatedAt: Date.now(), lastError: result.reason });
    await job.updateData(next);
    await ignoreStale(job.moveToFailed(new Error(result.reason), token, false));
  }

  async release(ids: string[]): Promise<void> {
    await this.#check();
    // BullMQ puts a released job at the head of wait: in reverse, they keep their order.
    for (const id of [...ids].reverse()) {
      const held = await this.#ours(id);
      if (!held) continue;
      await held.job.updateData(strip({ ...held.data, leaseUntil: undefined, updatedAt: Date.now() }));
      await ignoreStale(held.job.moveToWait(held.token));
    }
  }

  async replay(selector: { ids: string[] } | ReplayFilter, now: number): Promise<number> {
    await this.#check();
    return replayJobs(this.#jobs, selector, now);
  }

  async count(filter: DeliveryFilter): Promise<number> {
    await this.#check();
    return countMatching(this.#jobs, filter);
  }

  async purge(filter: {
    status: DeliveryStatus;
    routeId?: string | undefined;
    olderThan: number;
  }): Promise<number> {
    await this.#check();
    return purgeJobs(this.#jobs, this.#producer, this.#key('route-of'), filter);
  }

  async get(id: string): Promise<{ record: DeliveryRecord; attempts: AttemptLog[] } | undefined> {
    await this.#check();
    const found = await this.#jobs.find(id);
    if (!found) return undefined;
    return { record: toRecord(id, found.job.data, found.status), attempts: attemptsOf(found.job.data) };
  }

  async list(filter: ListFilter): Promise<DeliveryRecord[]> {
    await this.#check();
    return listJobs(this.#jobs, filter);
  }

  async stats(): Promise<QueueStats> {
    await this.#check();
    return this.#jobs.stats();
  }

  async nextDue(routeId: string): Promise<number | undefined> {
    await this.#check();
    return nextDueOf(this.#jobs, routeId);
  }

  /** Global limits across every instance on this Redis (see the overview). */
  async configureRoute(routeId: string, limits: RouteLimits): Promise<void> {
    await this.#check();
    const queue = this.#jobs.queue(routeId);
    await this.#producer.sadd(this.#key('routes'), routeId);
    if (limits.concurrency !== undefined) await queue.setGlobalConcurrency(limits.concurrency);
    else await queue.removeGlobalConcurrency();
    if (limits.rateLimit !== undefined) await queue.setGlobalRateLimit(limits.rateLimit, 1_000);
    else await queue.removeGlobalRateLimit();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#watchdog.stop();
    const workers = await Promise.all(this.#workers.values());
    await bounded(Promise.all([...workers.map((w) => w.close(true)), this.#jobs.close()]));
    await bounded(Promise.all([this.#producer.quit(), this.#workerClient.quit()]).catch(() => {}));
    this.#producer.disconnect();
    this.#workerClient.disconnect();
  }
}

/** A move refused because the lock is gone or the job moved on: a late result, dropped. */
async function ignoreStale(move: Promise<unknown>): Promise<void> {
  try {
    await move;
  } catch (error) {
    if (!/lock|not in the active state|does not exist|Missing key/i.test((error as Error).message))
      throw error;
  }
}

async function bounded(work: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work.catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
}

export { redisDurability } from './redis-durability.ts';
