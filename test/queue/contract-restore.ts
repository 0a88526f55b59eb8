import { expect, it } from 'vitest';
import {
  type AttemptLog,
  attemptBytes,
  type DeliveryRecord,
  type QueueDriver,
} from '../../src/queue/types.ts';

/**
 * `restore` in the shared driver contract (contract.ts calls it inside each driver's suite): a
 * record read from another store is written as it was, inflight ones as pending, once.
 */

export type MakeRecord = (overrides?: Partial<DeliveryRecord>) => DeliveryRecord;

function history(at: number): AttemptLog[] {
  return [
    {
      at,
      durationMs: 31,
      status: 503,
      error: 'target answered 503',
      traceId: '5b8efff798038103d269b633813fc60c',
      spanId: 'eee19b7ec3c1b174',
    },
    { at: at + 1_000, durationMs: 12, status: undefined, error: 'connect ECONNREFUSED 127.0.0.1:9' },
    { at: at + 5_000, durationMs: 9, status: 500, error: 'target answered 500' },
  ];
}

const bytesOf = (attempts: AttemptLog[]) => attempts.reduce((sum, a) => sum + attemptBytes(a), 0);

/** What get() must return for a restored record: the same, without lease and dedup key. */
function restored(record: DeliveryRecord, attempts: AttemptLog[], status = record.status): DeliveryRecord {
  return {
    ...record,
    status,
    leaseUntil: undefined,
    dedup: undefined,
    bodyBytes: record.request.body?.length ?? 0,
    historyBytes: bytesOf(attempts),
  };
}

export function restoreContract(driver: () => Promise<QueueDriver>, makeRecord: MakeRecord): void {
  it('restore round-trips pending, inflight (as pending), dead and delivered records with their history', async () => {
    const q = await driver();
    const t = Date.now() - 3_600_000;
    const pending = makeRecord({
      createdAt: t,
      updatedAt: t + 10,
      nextAttemptAt: t + 20,
      replays: 2,
      replayedAt: t + 5,
      dedup: { key: 'evt-1', windowMs: 60_000 },
    });
    pending.request.body = Buffer.from([0, 1, 2, 255, 0]);
    pending.request.configHeaders = ['authorization'];
    pending.request.target = { params: { tenant: 'acme' }, rawQuery: 'a=1' };
    const inflight = makeRecord({
      status: 'inflight',
      createdAt: t + 1,
      nextAttemptAt: t + 30,
      leaseUntil: Date.now() + 60_000,
      attempts: 3,
      attemptsDropped: 0,
      lastStatus: 503,
      lastError: 'target answered 503',
    });
    const dead = makeRecord({
      status: 'dead',
      createdAt: t + 2,
      updatedAt: t + 9_000,
      attempts: 7,
      attemptsDropped: 4,
      lastStatus: 500,
      lastError: 'max attempts (7) reached',
      lastResponse: '{"error":"down"}',
      // The accepting request's context, which every attempt links to (tracing on).
      trace: {
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        tracestate: 'vendor=abc',
      },
    });
    const delivered = makeRecord({
      status: 'delivered',
      createdAt: t + 3,
      updatedAt: t + 4_000,
      attempts: 1,
      lastStatus: 202,
      lastResponse: 'accepted',
      deliveredAt: t + 4_000,
    });
    delivered.request.body = undefined;
    const attemptsOf = new Map<string, AttemptLog[]>([
      [pending.id, []],
      [inflight.id, history(t).slice(0, 3)],
      [dead.id, history(t + 100)],
      [delivered.id, [{ at: t + 3_990, durationMs: 10, status: 202, error: undefined }]],
    ]);
    for (const record of [pending, inflight, dead, delivered])
      expect(await q.restore(record, attemptsOf.get(record.id)!)).toBe('restored');

    for (const record of [pending, inflight, dead, delivered]) {
      const got = await q.get(record.id);
      const attempts = attemptsOf.get(record.id)!;
      expect(got!.record).toEqual(
        restored(record, attempts, record.status === 'inflight' ? 'pending' : record.status),
      );
      expect(got!.attempts).toEqual(attempts);
    }
    const body = (await q.get(pending.id))!.record.request.body!;
    expect(Buffer.isBuffer(body)).toBe(true);
    expect(body.equals(Buffer.from([0, 1, 2, 255, 0]))).toBe(true);
    expect((await q.get(delivered.id))!.record.request.body).toBeUndefined();
    expect((await q.list({})).map((r) => [r.id, r.status])).toEqual([
      [pending.id, 'pending'],
      [inflight.id, 'pending'],
      [dead.id, 'dead'],
      [delivered.id, 'delivered'],
    ]);
  });

  it("restoring twice returns 'exists' and changes nothing; so does an enqueued id", async () => {
    const q = await driver();
    const dead = makeRecord({ status: 'dead', attempts: 1, lastError: 'gone', lastStatus: 410 });
    const attempts = history(Date.now() - 10_000).slice(0, 1);
    expect(await q.restore(dead, attempts)).toBe('restored');
    const before = await q.get(dead.id);
    expect(await q.restore({ ...dead, status: 'pending', lastError: 'other' }, [])).toBe('exists');
    expect(await q.get(dead.id)).toEqual(before);
    expect((await q.list({})).map((r) => r.id)).toEqual([dead.id]);

    const other = makeRecord();
    await q.enqueue({
      id: other.id,
      routeId: other.routeId,
      requestId: other.requestId,
      request: other.request,
      createdAt: other.createdAt,
      nextAttemptAt: other.nextAttemptAt,
      attempts: 0,
    });
    expect(await q.restore({ ...other, status: 'dead' }, attempts)).toBe('exists');
    expect((await q.get(other.id))!.record.status).toBe('pending');
    expect((await q.stats()).byRoute.r1).toMatchObject({ pending: { count: 1 }, dead: { count: 1 } });
  });

  it('restored pending records are leased when due and delivered as any other; dead ones replay', async () => {
    const q = await driver();
    const now = Date.now();
    const due = makeRecord({ createdAt: now - 5_000, nextAttemptAt: now - 4_000, attempts: 2 });
    const wasInflight = makeRecord({
      status: 'inflight',
      createdAt: now - 4_500,
      nextAttemptAt: now - 3_000,
      leaseUntil: now + 600_000,
      attempts: 1,
    });
    const later = makeRecord({ createdAt: now - 4_000, nextAttemptAt: now + 1_500 });
    const dead = makeRecord({
      status: 'dead',
      createdAt: now - 3_500,
      attempts: 3,
      lastError: 'max attempts',
    });
    const prior = history(now - 5_000).slice(0, 2);
    expect(await q.restore(due, prior)).toBe('restored');
    expect(await q.restore(wasInflight, prior.slice(0, 1))).toBe('restored');
    expect(await q.restore(later, [])).toBe('restored');
    expect(await q.restore(dead, history(now - 5_000))).toBe('restored');

    const leased = await q.lease('r1', 10, 30_000, Date.now());
    expect(leased.map((r) => r.id)).toEqual([due.id, wasInflight.id]);
    expect(leased[0]).toMatchObject({ status: 'inflight', attempts: 2, requestId: due.requestId });
    const ok: AttemptLog = { at: Date.now(), durationMs: 5, status: 200, error: undefined };
    for (const r of leased) await q.ack(r.id, { status: 200, response: 'ok', attempt: ok });
    const got = await q.get(due.id);
    expect(got!.record).toMatchObject({ status: 'delivered', attempts: 3, lastStatus: 200 });
    expect(got!.attempts).toEqual([...prior, ok]);

    // Not due yet; then due at its nextAttemptAt.
    expect(await q.nextDue('r1')).toBe(later.nextAttemptAt);
    await new Promise((r) => setTimeout(r, Math.max(0, later.nextAttemptAt - Date.now() + 20)));
    expect((await q.lease('r1', 10, 30_000, Date.now())).map((r) => r.id)).toEqual([later.id]);

    expect(await q.replay({ ids: [dead.id] }, Date.now())).toBe(1);
    expect((await q.get(dead.id))!.record).toMatchObject({ status: 'pending', attempts: 0, replays: 1 });
  });

  it('stats count restored records with their body and history bytes', async () => {
    const q = await driver();
    const t = Date.now() - 60_000;
    const attempts = history(t);
    const pending = makeRecord({ createdAt: t });
    const dead = makeRecord({ status: 'dead', createdAt: t + 1, attempts: 3, lastError: 'x' });
    const delivered = makeRecord({ routeId: 'r2', status: 'delivered', createdAt: t + 2, attempts: 1 });
    await q.restore(pending, []);
    await q.restore(dead, attempts);
    await q.restore(delivered, attempts.slice(0, 1));
    const stats = await q.stats();
    const body = (r: DeliveryRecord) => r.request.body?.length ?? 0;
    expect(stats.byRoute.r1).toMatchObject({
      pending: { count: 1, bytes: body(pending) },
      inflight: { count: 0 },
      dead: { count: 1, bytes: body(dead) + bytesOf(attempts) },
    });
    expect(stats.byRoute.r2).toMatchObject({
      delivered: { count: 1, bytes: body(delivered) + bytesOf(attempts.slice(0, 1)) },
    });
    expect(stats.oldestPending.r1).toBe(t);
  });
}
