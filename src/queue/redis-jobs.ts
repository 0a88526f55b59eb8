/**
 * The redis driver's reads across jobs: one BullMQ Queue per route (created on first use), finding
 * a delivery by id (`<prefix>:route-of` names its route), every job of some routes and statuses
 * with the status each was read in, the stats, the active jobs without a lock (for the watchdog),
 * and promoting delayed jobs due at an injected `now`.
 *
 * The stats are read every 2 s by every instance (metrics, admission), so they must not cost
 * what the stored jobs cost: the count of every status is BullMQ's list and set sizes (O(1)); the
 * open jobs (pending, in flight: what `maxPending` bounds) are read one by one while a route has
 * at most OPEN_SCAN_EVERY_CALL of them, and above that at most every 30 s, their bytes estimated
 * from the bytes per job of the last read in between; the bytes of the delivered and dead ones
 * are summed by a full read at most once a minute.
 */
import { type Job, type JobType, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { emptyRouteStats } from './memory.ts';
import type { JobData } from './redis-record.ts';
import type { DeliveryStatus, QueueStats } from './types.ts';

export interface FoundJob {
  job: Job<JobData>;
  status: DeliveryStatus;
}

/** The BullMQ states each status is made of. */
export const STATES: Record<DeliveryStatus, JobType[]> = {
  pending: ['wait', 'delayed', 'prioritized'],
  inflight: ['active'],
  delivered: ['completed'],
  dead: ['failed'],
};

export const ALL: DeliveryStatus[] = ['pending', 'inflight', 'delivered', 'dead'];

/** How old the bytes of delivered and dead jobs in the stats may be (ms). */
export const CLOSED_BYTES_MAX_AGE_MS = 60_000;
/** Up to this many open jobs, a route's open jobs are read on every stats call. */
export const OPEN_SCAN_EVERY_CALL = 1_000;
/** Above it, they are read at most this often (ms) and estimated in between. */
export const OPEN_SCAN_MAX_AGE_MS = 30_000;

/** The BullMQ states counted by the stats. */
const COUNTED: JobType[] = ['wait', 'delayed', 'prioritized', 'active', 'completed', 'failed'];

/** What one read of a route's open jobs found, and when. */
interface OpenScan {
  at: number;
  pending: { count: number; bytes: number };
  inflight: { count: number; bytes: number };
  oldest: number | undefined;
}

/** Moves a waiting or delayed job to active (unlocked), so moveToFailed may take it: dead without a lease. */
const TAKE_PENDING = `
local n = redis.call('LREM', KEYS[1], 0, ARGV[1]) + redis.call('ZREM', KEYS[2], ARGV[1]) + redis.call('ZREM', KEYS[3], ARGV[1])
if n > 0 then redis.call('LPUSH', KEYS[4], ARGV[1]) end
return n`;

export class RouteJobs {
  readonly #client: Redis;
  readonly #prefix: string;
  readonly #queues = new Map<string, Queue<JobData>>();
  /** Bytes of the delivered and dead jobs per route, and when they were summed. */
  readonly #closedBytes = new Map<string, { at: number; delivered: number; dead: number }>();
  /** The last read of each route's open jobs. */
  readonly #openScans = new Map<string, OpenScan>();

  constructor(client: Redis, prefix: string) {
    this.#client = client;
    this.#prefix = prefix;
  }

  queue(routeId: string): Queue<JobData> {
    let queue = this.#queues.get(routeId);
    if (!queue) {
      queue = new Queue<JobData>(routeId, {
        connection: this.#client,
        prefix: this.#prefix,
        // Finished jobs are the delivered records and the dead letters: retention purges them.
        defaultJobOptions: { removeOnComplete: false, removeOnFail: false, attempts: 1 },
      });
      queue.on('error', () => {});
      this.#queues.set(routeId, queue);
    }
    return queue;
  }

  async routes(): Promise<string[]> {
    return (await this.#client.smembers(`${this.#prefix}:routes`)).sort();
  }

  async find(id: string): Promise<FoundJob | undefined> {
    const routeId = await this.#client.hget(`${this.#prefix}:route-of`, id);
    if (routeId === null) return undefined;
    const job = (await this.queue(routeId).getJob(id)) as Job<JobData> | undefined;
    if (!job) return undefined;
    const state = await job.getState();
    const status = statusOfState(state);
    return status === undefined ? undefined : { job, status };
  }

  /** Every job of the route (or of every route) in the statuses (all when undefined), once each. */
  async all(routeId: string | undefined, statuses: DeliveryStatus[] = ALL): Promise<FoundJob[]> {
    const routes = routeId === undefined ? await this.routes() : [routeId];
    const found = new Map<string, FoundJob>();
    for (const route of routes) {
      const queue = this.queue(route);
      for (const status of statuses) {
        for (const type of STATES[status]) {
          for (const job of (await queue.getJobs([type], 0, -1, true)) as (Job<JobData> | undefined)[]) {
            if (job?.id !== undefined && job.data && !found.has(job.id)) found.set(job.id, { job, status });
          }
        }
      }
    }
    return [...found.values()];
  }

  async stats(): Promise<QueueStats> {
    const stats: QueueStats = { byRoute: {}, oldestPending: {} };
    for (const routeId of await this.routes()) {
      const counts = await this.queue(routeId).getJobCounts(...COUNTED);
      const pending = (counts.wait ?? 0) + (counts.delayed ?? 0) + (counts.prioritized ?? 0);
      const inflight = counts.active ?? 0;
      const delivered = counts.completed ?? 0;
      const dead = counts.failed ?? 0;
      if (pending + inflight + delivered + dead === 0) {
        this.#openScans.delete(routeId);
        continue;
      }
      const route = emptyRouteStats();
      stats.byRoute[routeId] = route;
      stats.oldestPending[routeId] = undefined;
      if (delivered + dead > 0) {
        const bytes = await this.#closedBytesOf(routeId);
        route.delivered = { count: delivered, bytes: bytes.delivered };
        route.dead = { count: dead, bytes: bytes.dead };
      }
      if (pending + inflight === 0) {
        this.#openScans.delete(routeId);
        continue;
      }
      const open = await this.#openOf(routeId, pending, inflight);
      route.pending = open.pending;
      route.inflight = open.inflight;
      stats.oldestPending[routeId] = open.oldest;
    }
    return stats;
  }

  /**
   * The open jobs of a route: read one by one while there are few of them or the last read is
   * older than OPEN_SCAN_MAX_AGE_MS; otherwise BullMQ's counts, with the bytes estimated from the
   * bytes per job of the last read and the oldest as that read found it.
   */
  async #openOf(routeId: string, pending: number, inflight: number): Promise<OpenScan> {
    const last = this.#openScans.get(routeId);
    const now = Date.now();
    if (pending + inflight > OPEN_SCAN_EVERY_CALL && last && now - last.at < OPEN_SCAN_MAX_AGE_MS) {
      const lastCount = last.pending.count + last.inflight.count;
      const perJob = lastCount === 0 ? 0 : (last.pending.bytes + last.inflight.bytes) / lastCount;
      const estimate = (count: number, was: { count: number; bytes: number }) => ({
        count,
        bytes: Math.round(count * (was.count > 0 ? was.bytes / was.count : perJob)),
      });
      return {
        at: last.at,
        pending: estimate(pending, last.pending),
        inflight: estimate(inflight, last.inflight),
        oldest: last.oldest,
      };
    }
    const scan: OpenScan = {
      at: now,
      pending: { count: 0, bytes: 0 },
      inflight: { count: 0, bytes: 0 },
      oldest: undefined,
    };
    for (const { job, status } of await this.all(routeId, ['pending', 'inflight'])) {
      if (status !== 'pending' && status !== 'inflight') continue;
      scan[status].count += 1;
      scan[status].bytes += job.data.bodyBytes + job.data.historyBytes;
      if (scan.oldest === undefined || job.data.createdAt < scan.oldest) scan.oldest = job.data.createdAt;
    }
    this.#openScans.set(routeId, scan);
    return scan;
  }

  async #closedBytesOf(routeId: string): Promise<{ delivered: number; dead: number }> {
    const cached = this.#closedBytes.get(routeId);
    if (cached && Date.now() - cached.at < CLOSED_BYTES_MAX_AGE_MS) return cached;
    const summed = { at: Date.now(), delivered: 0, dead: 0 };
    for (const { job, status } of await this.all(routeId, ['delivered', 'dead'])) {
      if (status === 'delivered' || status === 'dead')
        summed[status] += job.data.bodyBytes + job.data.historyBytes;
    }
    this.#closedBytes.set(routeId, summed);
    return summed;
  }

  /**
   * Moves a pending job of the route to active without a lock (token '0' then finishes it):
   * false when it was not pending.
   */
  async takePending(routeId: string, id: string): Promise<boolean> {
    const { wait, delayed, prioritized, active } = this.queue(routeId).keys;
    const taken = await this.#client.eval(TAKE_PENDING, 4, wait!, delayed!, prioritized!, active!, id);
    return Number(taken) > 0;
  }

  /** Jobs of these routes active without a lock: leases that ended, waiting for recovery (the watchdog's check). */
  async unlockedActive(routeIds: string[]): Promise<string[]> {
    const unlocked: string[] = [];
    for (const routeId of routeIds) {
      const queue = this.queue(routeId);
      const active = await this.#client.lrange(queue.keys.active!, 0, 199);
      if (active.length === 0) continue;
      const pipeline = this.#client.pipeline();
      for (const id of active) pipeline.exists(`${queue.toKey(id)}:lock`);
      const results = (await pipeline.exec()) ?? [];
      active.forEach((id, i) => {
        if (results[i]?.[1] === 0) unlocked.push(id);
      });
    }
    return unlocked;
  }

  /** Promotes the first delayed jobs of the route that are due at `now` (ahead of this clock). */
  async promoteDue(routeId: string, now: number, limit: number): Promise<void> {
    const delayed = (await this.queue(routeId).getDelayed(0, limit - 1)) as (Job<JobData> | undefined)[];
    for (const job of delayed) {
      if (job?.data && job.data.nextAttemptAt <= now) await job.promote().catch(() => {});
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((q) => q.close()));
  }
}

function statusOfState(state: string): DeliveryStatus | undefined {
  switch (state) {
    case 'waiting':
    case 'delayed':
    case 'prioritized':
    case 'waiting-children':
      return 'pending';
    case 'active':
      return 'inflight';
    case 'completed':
      return 'delivered';
    case 'failed':
      return 'dead';
    default:
      return undefined;
  }
}
