/**
 * The redis driver's operator views and actions over many jobs: list, replay, purge, and when a
 * route's next job is due. They read every job of the routes concerned (O(n), fine for an
 * operator's view or a worker's sleep; nothing here runs per webhook).
 */
import type { Redis } from 'ioredis';
import type { RouteJobs } from './redis-jobs.ts';
import { strip, toRecord } from './redis-record.ts';
import type { DeliveryRecord, DeliveryStatus, ListFilter } from './types.ts';

export async function listJobs(jobs: RouteJobs, filter: ListFilter): Promise<DeliveryRecord[]> {
  const limit = Math.max(0, Math.floor(filter.limit ?? 100));
  const records = (await jobs.all(filter.routeId, filter.status ? [filter.status] : undefined))
    .map((f) => toRecord(f.job.id!, f.job.data, f.status))
    .filter(
      (r) =>
        (filter.olderThan === undefined || r.updatedAt < filter.olderThan) &&
        (filter.after === undefined || r.id > filter.after),
    );
  records.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return records.slice(0, limit);
}

/** Dead or delivered jobs back to pending, due at `now`, attempts reset; returns how many. */
export async function replayJobs(
  jobs: RouteJobs,
  selector: { ids: string[] } | { routeId?: string | undefined; status: 'dead' | 'delivered' },
  now: number,
): Promise<number> {
  const targets =
    'ids' in selector
      ? (await Promise.all([...new Set(selector.ids)].map((id) => jobs.find(id)))).filter(
          (f) => f !== undefined && (f.status === 'dead' || f.status === 'delivered'),
        )
      : await jobs.all(selector.routeId, [selector.status]);
  let count = 0;
  for (const found of targets) {
    const { job, status } = found!;
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
    await job.retry(status === 'dead' ? 'failed' : 'completed', { resetAttemptsMade: true });
    count += 1;
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
