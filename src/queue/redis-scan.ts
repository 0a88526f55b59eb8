/**
 * Bounded scans of the redis driver's jobs for the filtered operator calls (list, count, replay by
 * filter): each BullMQ state of the routes and statuses concerned is read a page of SCAN_PAGE jobs
 * at a time (ZRANGE/LRANGE by index through `getJobs`), so memory holds one page plus what the
 * caller keeps, never the whole set. What a caller keeps is bounded too: `smallest` keeps the
 * first `limit` matches in an order (a sorted array of at most `limit` entries).
 *
 * A scan is not a snapshot: a job that changes state while it runs (another instance leasing or
 * finishing it) may be seen twice or not at all, as with any paged read of a live queue; the
 * operator's count is then off by those few. Replaying without a limit removes jobs from the set
 * being read, so the next page starts that many places earlier (`replayEach`).
 */
import type { Job } from 'bullmq';
import { ALL, type FoundJob, type RouteJobs, STATES } from './redis-jobs.ts';
import type { JobData } from './redis-record.ts';
import type { DeliveryFilter, DeliveryStatus } from './types.ts';

/** Jobs read per command. */
export const SCAN_PAGE = 200;

/** Whether a job's data, read in `status`, matches the filter (matchesFilter without building a record). */
export function jobMatches(data: JobData, status: DeliveryStatus, filter: DeliveryFilter): boolean {
  return (
    (filter.routeId === undefined || data.routeId === filter.routeId) &&
    (filter.status === undefined || status === filter.status) &&
    (filter.code === undefined || data.lastCode === filter.code) &&
    (filter.lastStatus === undefined || data.lastStatus === filter.lastStatus) &&
    (filter.since === undefined || data.createdAt >= filter.since) &&
    (filter.until === undefined || data.createdAt < filter.until)
  );
}

/** Whether the filter needs the jobs' data (otherwise BullMQ's counts answer). */
export function needsData(filter: DeliveryFilter): boolean {
  return (
    filter.code !== undefined ||
    filter.lastStatus !== undefined ||
    filter.since !== undefined ||
    filter.until !== undefined
  );
}

async function routesOf(jobs: RouteJobs, routeId: string | undefined): Promise<string[]> {
  return routeId === undefined ? jobs.routes() : [routeId];
}

/** Calls `visit` with every job of the filter's routes and statuses, one page at a time. */
export async function scan(
  jobs: RouteJobs,
  filter: DeliveryFilter,
  visit: (found: FoundJob) => void,
): Promise<void> {
  const statuses = filter.status === undefined ? ALL : [filter.status];
  for (const route of await routesOf(jobs, filter.routeId)) {
    const queue = jobs.queue(route);
    for (const status of statuses) {
      for (const type of STATES[status]) {
        for (let start = 0; ; start += SCAN_PAGE) {
          const page = (await queue.getJobs([type], start, start + SCAN_PAGE - 1, true)) as (
            | Job<JobData>
            | undefined
          )[];
          for (const job of page) if (job?.id !== undefined && job.data) visit({ job, status });
          if (page.length < SCAN_PAGE) break;
        }
      }
    }
  }
}

/** How many jobs match: BullMQ's counts when only route and status are given, else a scan. */
export async function countMatching(jobs: RouteJobs, filter: DeliveryFilter): Promise<number> {
  if (!needsData(filter)) {
    const statuses = filter.status === undefined ? ALL : [filter.status];
    const types = statuses.flatMap((status) => STATES[status]);
    let total = 0;
    for (const route of await routesOf(jobs, filter.routeId)) {
      const counts = await jobs.queue(route).getJobCounts(...types);
      for (const type of types) total += counts[type] ?? 0;
    }
    return total;
  }
  let count = 0;
  await scan(jobs, filter, ({ job, status }) => {
    if (jobMatches(job.data, status, filter)) count += 1;
  });
  return count;
}

/** The first `limit` of the values in `order`, kept while scanning: at most `limit` held at once. */
export class Smallest<T> {
  readonly #limit: number;
  readonly #order: (a: T, b: T) => number;
  readonly items: T[] = [];

  constructor(limit: number, order: (a: T, b: T) => number) {
    this.#limit = Math.max(0, Math.floor(limit));
    this.#order = order;
  }

  /** Keeps the value when it is among the first `limit` so far; says whether it did. */
  offer(value: T): boolean {
    const { items } = this;
    if (this.#limit === 0) return false;
    if (items.length === this.#limit && this.#order(value, items[items.length - 1]!) >= 0) return false;
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#order(items[mid]!, value) <= 0) lo = mid + 1;
      else hi = mid;
    }
    items.splice(lo, 0, value);
    if (items.length > this.#limit) items.pop();
    return true;
  }
}

/**
 * Every matching job of a replayable status, handed to `replay` one page at a time: a replayed
 * job leaves the set, so the next page starts that many places earlier. Returns how many.
 */
export async function replayEach(
  jobs: RouteJobs,
  filter: DeliveryFilter & { status: 'dead' | 'delivered' },
  replay: (found: FoundJob) => Promise<boolean>,
): Promise<number> {
  let replayed = 0;
  for (const route of await routesOf(jobs, filter.routeId)) {
    const queue = jobs.queue(route);
    for (const type of STATES[filter.status]) {
      for (let start = 0; ; ) {
        const page = (await queue.getJobs([type], start, start + SCAN_PAGE - 1, true)) as (
          | Job<JobData>
          | undefined
        )[];
        let left = 0;
        for (const job of page) {
          if (job?.id === undefined || !job.data || !jobMatches(job.data, filter.status, filter)) continue;
          if (await replay({ job, status: filter.status })) left += 1;
        }
        replayed += left;
        if (page.length < SCAN_PAGE) break;
        start += page.length - left;
      }
    }
  }
  return replayed;
}
