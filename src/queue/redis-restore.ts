/**
 * The redis driver's `restore`: a record read from another store (`hookrelay deliveries migrate`)
 * written as the BullMQ job the driver would have made of it, in the state its status maps to
 * (redis-record.ts): pending in the delayed set at its nextAttemptAt, dead in the failed set,
 * delivered in the completed set, through the moves the driver itself uses (the unlocked take of
 * `dead`, then moveToFailed or moveToCompleted with token '0').
 *
 * The claim of the id in `<prefix>:route-of` comes last: it is what makes the delivery visible to
 * get/list and what a rerun checks, so a restore stopped half-way (a crash, Redis gone) leaves a
 * job without a claim, which the next run removes and writes again, instead of 'exists' for a job
 * in the wrong state. Dead and delivered jobs are added far in the future first, so no worker can
 * take one before it reaches its set.
 */
import type { Redis } from 'ioredis';
import type { RouteJobs } from './redis-jobs.ts';
import { restoredJobData } from './redis-record.ts';
import type { RedisSettings } from './redis-settings.ts';
import { type AttemptLog, type DeliveryRecord, restoredRecord } from './types.ts';

/** How far ahead a finished job is parked while it is moved to its set (ms). */
const PARKED_MS = 10 * 365 * 86_400_000;

export interface RestoreContext {
  client: Redis;
  jobs: RouteJobs;
  settings: RedisSettings;
}

export async function restoreJob(
  { client, jobs, settings }: RestoreContext,
  source: DeliveryRecord,
  attempts: AttemptLog[],
): Promise<'restored' | 'exists'> {
  const { id, routeId } = source;
  const routeOf = `${settings.prefix}:route-of`;
  if ((await client.hexists(routeOf, id)) === 1) return 'exists';
  const record = restoredRecord(source, attempts);
  const queue = jobs.queue(routeId);
  const unclaimed = await queue.getJob(id);
  if (unclaimed) await unclaimed.remove();
  const open = record.status === 'pending';
  const job = await queue.add('delivery', restoredJobData(record, attempts), {
    jobId: id,
    timestamp: record.createdAt,
    delay: open
      ? Math.max(1, record.nextAttemptAt - record.createdAt)
      : Date.now() + PARKED_MS - record.createdAt,
  });
  if (!open) {
    if (!(await jobs.takePending(routeId, id)))
      throw new Error(`delivery ${id} left the delayed set while restored`);
    if (record.status === 'dead') await job.moveToFailed(new Error(record.lastError ?? 'dead'), '0', false);
    else await job.moveToCompleted({ status: record.lastStatus }, '0', false);
  }
  await client.sadd(`${settings.prefix}:routes`, routeId);
  if ((await client.hsetnx(routeOf, id, routeId)) !== 1) return 'exists';
  await replicated(client, settings, id);
  return 'restored';
}

/** WAIT for `waitReplicas` replicas (queue.redis): rejects when fewer acknowledged the write of `id`. */
export async function replicated(client: Redis, settings: RedisSettings, id: string): Promise<void> {
  const replicas = settings.waitReplicas;
  if (replicas <= 0) return;
  const acked = Number(await client.call('WAIT', replicas, settings.waitTimeout));
  if (acked < replicas)
    throw new Error(`only ${acked} of ${replicas} redis replicas acknowledged delivery ${id}`);
}
