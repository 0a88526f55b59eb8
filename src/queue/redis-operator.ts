/**
 * The redis driver's operator views and actions over many jobs: list, replay, purge, and when a
 * route's next job is due. They read every job of the routes concerned (O(n), fine for an
 * operator's view or a worker's sleep; nothing here runs per webhook); list and replay by a filter
 * read them a page at a time (redis-scan.ts), keeping at most the page and what they return.
 */
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { FoundJob, RouteJobs } from './redis-jobs.ts';
import { type JobData, strip, toRecord } from './redis-record.ts';
import { jobMatches, replayEach, Smallest, scan } from './redis-scan.ts';
import type { DeliveryRecord, DeliveryStatus, ListFilter, ReplayFilter } from './types.ts';

const byId = (a: FoundJob, b: FoundJob) => (a.job.id! < b.job.id! ? -1 : a.job.id! > b.job.id! ? 1 : 0);

/** The first `limit` matching jobs by id, read page by page (at most `limit` kept). */
export async function listJobs(jobs: RouteJobs, filter: ListFilter): Promise<DeliveryRecord[]> {
  const page = new Smallest<FoundJob>(filter.limit ?? 100, byId);
  const seen = new Set<string>();
  await scan(jobs, filter, (found) => {
    const { job, status } = found;
    if (!jobMatches(job.data, status, filter)) return;
    if (filter.olderThan !== undefined && job.data.updatedAt >= filter.olderThan) return;
    if (filter.after !== undefined && job.id! <= filter.after) return;
    // A job that moved between two states while the scan ran is listed once.
    if (seen.has(job.id!)) return;
    if (page.offer(found)) seen.add(job.id!);
  });
  return page.items.map((f) => toRecord(f.job.id!, f.job.data, f.status));
}

/** A dead or delivered job back to pending, due at `now`, attempts reset; false when it moved meanwhile. */
async function replayOne(job: Job<JobData>, status: DeliveryStatus, now: number): Promise<boolean> {
  await job.updateData(
    strip({
      ...job.data,
      attempts: 0,
      replays: job.data.replays + 1,
      replayedAt: now,
      nextAttemptAt: now,
      leaseUntil: undefined,
      deliveredAt: undefined,
      updatedAt: now,
    }),
  );
  try {
    await job.retry(status === 'dead' ? 'failed' : 'completed', { resetAttemptsMade: true });
    return true;
  } catch (error) {
    // Replayed or purged by another caller between the read and the move.
    if (/not in the (failed|completed) state|does not exist|Missing key/i.test((error as Error).message))
      return false;
    throw error;
  }
}

/**
 * Dead or delivered jobs back to pending, due at `now`, attempts reset; returns how many. By
 * ids; by a filter with a limit: the `limit` oldest (createdAt) matches, found by one bounded
 * scan; by a filter without one: every match, page by page.
 */
export async function replayJobs(
  jobs: RouteJobs,
  selector: { ids: string[] } | ReplayFilter,
  now: number,
): Promise<number> {
  if (!('ids' in selector) && selector.limit === undefined)
    return replayEach(jobs, selector, ({ job, status }) => replayOne(job, status, now));
  let targets: { id: string; routeId: string; status: DeliveryStatus }[];
  if ('ids' in selector) {
    const found = await Promise.all([...new Set(selector.ids)].map((id) => jobs.find(id)));
    targets = found.flatMap((f) =>
      f && (f.status === 'dead' || f.status === 'delivered')
        ? [{ id: f.job.id!, routeId: f.job.data.routeId, status: f.status }]
        : [],
    );
  } else {
    // Only what identifies a job is kept while scanning, not its data.
    const oldest = new Smallest<{ id: string; routeId: string; createdAt: number; status: DeliveryStatus }>(
      selector.limit!,
      (a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    );
    await scan(jobs, selector, ({ job, status }) => {
      if (jobMatches(job.data, status, selector))
        oldest.offer({ id: job.id!, routeId: job.data.routeId, createdAt: job.data.createdAt, status });
    });
    targets = oldest.items;
  }
  let count = 0;
  for (const target of targets) {
    const job = (await jobs.queue(target.routeId).getJob(target.id)) as Job<JobData> | undefined;
    if (job?.data && (await replayOne(job, target.status, now))) count += 1;
  }
  return count;
}

/** Removes the jobs of a status last updated before `olderThan`, and their ids from `routeOf`. */
export async function purgeJobs(
  jobs: RouteJobs,
  client: Redis,
  routeOf: string,
  filter: { status: DeliveryStatus; routeId?: string | undefined; olderThan: number },
): Promise<number> {
  const doomed = (await jobs.all(filter.routeId, [filter.status])).filter(
    (f) => f.job.data.updatedAt < filter.olderThan,
  );
  for (let i = 0; i < doomed.length; i += 200) {
    const chunk = doomed.slice(i, i + 200);
    await Promise.all(chunk.map((f) => f.job.remove()));
    await client.hdel(routeOf, ...chunk.map((f) => f.job.id!));
  }
  return doomed.length;
}

/** When the route's next pending job is due or the earliest lease of an inflight one ends. */
export async function nextDueOf(jobs: RouteJobs, routeId: string): Promise<number | undefined> {
  let next: number | undefined;
  for (const { job, status } of await jobs.all(routeId, ['pending', 'inflight'])) {
    const due = status === 'pending' ? job.data.nextAttemptAt : (job.data.leaseUntil ?? 0);
    if (next === undefined || due < next) next = due;
  }
  return next;
}
