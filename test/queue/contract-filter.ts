import { expect, it } from 'vitest';
import type { AttemptLog, DeliveryRecord, NewDelivery, QueueDriver } from '../../src/queue/types.ts';

const MIN = 60_000;
const TIMEOUT = 'HOOKRELAY_ERR_UPSTREAM_TIMEOUT';
const UNREACHABLE = 'HOOKRELAY_ERR_UPSTREAM_UNREACHABLE';

type Outcome = { kind: 'dead'; status?: number; code?: string } | { kind: 'delivered' } | { kind: 'pending' };

const ids = (records: DeliveryRecord[]) => records.map((r) => r.id);

function attempt(at: number, status: number | undefined, code?: string): AttemptLog {
  return {
    at,
    durationMs: 5,
    status,
    error: code === undefined ? undefined : `failed: ${code}`,
    ...(code === undefined ? {} : { code }),
  };
}

/**
 * The contract's filters (DeliveryFilter): list, count and replay by route, status, last code,
 * last status and createdAt bounds; a replay with a limit takes the oldest first.
 */
export function filterContract(
  driver: () => Promise<QueueDriver>,
  newDelivery: (overrides?: Partial<NewDelivery>) => NewDelivery,
): void {
  /** Enqueues the records in order, then settles each as its outcome says. */
  async function seed(
    q: QueueDriver,
    specs: { routeId: string; createdAt: number; outcome: Outcome }[],
  ): Promise<string[]> {
    const now = Date.now();
    const made: string[] = [];
    for (const spec of specs) {
      const d = newDelivery({
        routeId: spec.routeId,
        createdAt: spec.createdAt,
        nextAttemptAt: spec.outcome.kind === 'pending' ? now + 3_600_000 : spec.createdAt,
      });
      await q.enqueue(d);
      made.push(d.id);
    }
    for (const routeId of new Set(specs.map((s) => s.routeId))) await q.lease(routeId, 1000, 30_000, now);
    for (const [i, spec] of specs.entries()) {
      const id = made[i]!;
      const { outcome } = spec;
      if (outcome.kind === 'delivered')
        await q.ack(id, { status: 200, response: undefined, attempt: attempt(now, 200) });
      else if (outcome.kind === 'dead')
        await q.dead(id, { reason: 'exhausted', attempt: attempt(now, outcome.status, outcome.code) });
    }
    return made;
  }

  it('records the error code of each attempt and the last one (lastCode)', async () => {
    const q = await driver();
    const now = Date.now();
    const a = newDelivery({ nextAttemptAt: now });
    const b = newDelivery({ nextAttemptAt: now });
    await q.enqueue(a);
    await q.enqueue(b);
    await q.lease('r1', 10, 30_000, now);
    await q.nack(a.id, { nextAttemptAt: now, attempt: attempt(now, undefined, TIMEOUT) });
    await q.nack(b.id, { nextAttemptAt: now, attempt: attempt(now, undefined, UNREACHABLE) });
    expect((await q.get(a.id))!.record).toMatchObject({ status: 'pending', lastCode: TIMEOUT });
    expect((await q.get(a.id))!.attempts).toEqual([attempt(now, undefined, TIMEOUT)]);

    expect(ids(await q.lease('r1', 10, 30_000, now + 1))).toEqual([a.id, b.id]);
    // an answer: the status is kept, the code is gone
    await q.nack(a.id, { nextAttemptAt: now, attempt: attempt(now, 503) });
    expect((await q.get(a.id))!.record).toMatchObject({ lastStatus: 503, lastCode: undefined });
    // dead for another reason (maxAge) keeps the last attempt's code
    await q.dead(b.id, { reason: 'older than maxAge' });
    expect((await q.get(b.id))!.record).toMatchObject({
      status: 'dead',
      lastError: 'older than maxAge',
      lastCode: UNREACHABLE,
    });
    expect(ids(await q.lease('r1', 10, 30_000, now + 2))).toEqual([a.id]);
    await q.ack(a.id, { status: 200, response: undefined, attempt: attempt(now, 200) });
    const delivered = (await q.get(a.id))!;
    expect(delivered.record).toMatchObject({ status: 'delivered', lastStatus: 200, lastCode: undefined });
    expect(delivered.attempts.map((x) => x.code)).toEqual([TIMEOUT, undefined, undefined]);
  });

  it('filters list and count by route, status, code, last status and createdAt, alone and together', async () => {
    const q = await driver();
    const t0 = Date.now() - 86_400_000;
    const [a, b, c, d, e, f, g] = await seed(q, [
      { routeId: 'r1', createdAt: t0, outcome: { kind: 'dead', code: TIMEOUT } },
      { routeId: 'r1', createdAt: t0 + MIN, outcome: { kind: 'dead', code: UNREACHABLE } },
      { routeId: 'r1', createdAt: t0 + 2 * MIN, outcome: { kind: 'dead', status: 503 } },
      { routeId: 'r2', createdAt: t0 + 3 * MIN, outcome: { kind: 'dead', code: TIMEOUT } },
      { routeId: 'r1', createdAt: t0 + 4 * MIN, outcome: { kind: 'delivered' } },
      { routeId: 'r1', createdAt: t0 + 5 * MIN, outcome: { kind: 'pending' } },
      { routeId: 'r1', createdAt: t0 + 6 * MIN, outcome: { kind: 'dead', code: TIMEOUT } },
    ]);
    const cases: [Parameters<QueueDriver['count']>[0], (string | undefined)[]][] = [
      [{}, [a, b, c, d, e, f, g]],
      [{ status: 'dead' }, [a, b, c, d, g]],
      [{ status: 'pending' }, [f]],
      [{ routeId: 'r2' }, [d]],
      [{ routeId: 'r1', status: 'dead' }, [a, b, c, g]],
      [{ code: TIMEOUT }, [a, d, g]],
      [{ code: 'HOOKRELAY_ERR_NONE' }, []],
      [{ routeId: 'r1', code: TIMEOUT }, [a, g]],
      [{ lastStatus: 503 }, [c]],
      [{ lastStatus: 200, status: 'delivered' }, [e]],
      [{ status: 'dead', lastStatus: 200 }, []],
      // since is inclusive, until exclusive
      [{ since: t0 + MIN }, [b, c, d, e, f, g]],
      [{ until: t0 + 3 * MIN }, [a, b, c]],
      [{ since: t0 + MIN, until: t0 + 3 * MIN }, [b, c]],
      [{ since: t0 + MIN, until: t0 + MIN }, []],
      [{ status: 'dead', code: TIMEOUT, since: t0 + 1, until: t0 + 7 * MIN }, [d, g]],
      [{ routeId: 'r1', status: 'dead', code: TIMEOUT, since: t0, until: t0 + 6 * MIN }, [a]],
    ];
    for (const [filter, expected] of cases) {
      expect({ filter, count: await q.count(filter) }).toEqual({ filter, count: expected.length });
      expect({ filter, ids: ids(await q.list(filter)) }).toEqual({ filter, ids: expected });
    }
  });

  it('replays what the filter matches, and count tells beforehand how many', async () => {
    const q = await driver();
    const t0 = Date.now() - 86_400_000;
    const [a, b, c, d, e, g] = await seed(q, [
      { routeId: 'r1', createdAt: t0, outcome: { kind: 'dead', code: TIMEOUT } },
      { routeId: 'r1', createdAt: t0 + MIN, outcome: { kind: 'dead', code: UNREACHABLE } },
      { routeId: 'r1', createdAt: t0 + 2 * MIN, outcome: { kind: 'dead', status: 503 } },
      { routeId: 'r2', createdAt: t0 + 3 * MIN, outcome: { kind: 'dead', code: TIMEOUT } },
      { routeId: 'r1', createdAt: t0 + 4 * MIN, outcome: { kind: 'delivered' } },
      { routeId: 'r1', createdAt: t0 + 6 * MIN, outcome: { kind: 'dead', code: TIMEOUT } },
    ]);
    const now = Date.now();
    const filter = { routeId: 'r1', status: 'dead' as const, code: TIMEOUT, until: t0 + 7 * MIN };
    expect(await q.count(filter)).toBe(2);
    expect(await q.replay(filter, now)).toBe(2);
    expect(await q.count(filter)).toBe(0);
    for (const id of [a, g]) {
      expect((await q.get(id!))!.record).toMatchObject({ status: 'pending', replays: 1, attempts: 0 });
    }
    for (const id of [b, c, d]) expect((await q.get(id!))!.record.status).toBe('dead');
    expect((await q.get(e!))!.record.status).toBe('delivered');

    expect(await q.replay({ status: 'dead', lastStatus: 503 }, now)).toBe(1);
    expect((await q.get(c!))!.record.status).toBe('pending');
    expect(await q.replay({ status: 'delivered', since: t0 + 5 * MIN }, now)).toBe(0);
    expect(await q.replay({ status: 'delivered', since: t0 + 4 * MIN }, now)).toBe(1);
    expect(await q.replay({ status: 'dead', routeId: 'r9' }, now)).toBe(0);
    expect(ids(await q.list({ status: 'dead' }))).toEqual([b, d]);
  });

  it('replays at most `limit`, oldest created first, so batches add up to the count', async () => {
    const q = await driver();
    const t0 = Date.now() - 86_400_000;
    // Enqueued newest first: the oldest-first order is not the order of the ids.
    const made = await seed(
      q,
      Array.from({ length: 7 }, (_, i) => ({
        routeId: 'r1',
        createdAt: t0 + (7 - i) * MIN,
        outcome: { kind: 'dead', code: TIMEOUT } as Outcome,
      })),
    );
    const oldestFirst = [...made].reverse();
    const filter = { status: 'dead' as const, code: TIMEOUT };
    const total = await q.count(filter);
    expect(total).toBe(7);
    expect(await q.replay({ ...filter, limit: 0 }, Date.now())).toBe(0);
    const batches: number[] = [];
    const replayedIds: string[] = [];
    for (;;) {
      const before = new Set(ids(await q.list({ status: 'pending' })));
      const n = await q.replay({ ...filter, limit: 3 }, Date.now());
      if (n === 0) break;
      batches.push(n);
      const after = ids(await q.list({ status: 'pending' })).filter((id) => !before.has(id));
      // each batch is the oldest still dead
      expect(new Set(after)).toEqual(new Set(oldestFirst.slice(replayedIds.length, replayedIds.length + n)));
      replayedIds.push(...after);
    }
    expect(batches).toEqual([3, 3, 1]);
    expect(batches.reduce((x, y) => x + y, 0)).toBe(total);
    expect(await q.count(filter)).toBe(0);
  });

  it('counts, lists and replays across more records than a page of a scan', async () => {
    const q = await driver();
    const t0 = Date.now() - 86_400_000;
    const n = 450;
    // Enqueued newest first, every other one timed out.
    const made = await seed(
      q,
      Array.from({ length: n }, (_, i) => ({
        routeId: 'r1',
        createdAt: t0 + (n - i) * 1000,
        outcome: { kind: 'dead', code: i % 2 === 0 ? TIMEOUT : UNREACHABLE } as Outcome,
      })),
    );
    const timedOut = made.filter((_, i) => i % 2 === 0);
    const filter = { status: 'dead' as const, code: TIMEOUT };
    expect(await q.count(filter)).toBe(225);
    expect(await q.count({ status: 'dead' })).toBe(n);
    expect(ids(await q.list({ ...filter, limit: 1000 }))).toEqual([...timedOut].sort());
    expect(await q.replay({ ...filter, limit: 210 }, Date.now())).toBe(210);
    const oldest = [...timedOut].reverse().slice(0, 210);
    expect(new Set(ids(await q.list({ status: 'pending', limit: 1000 })))).toEqual(new Set(oldest));
    expect(await q.replay(filter, Date.now())).toBe(15);
    expect(await q.replay({ status: 'dead' }, Date.now())).toBe(225);
    expect(await q.count({ status: 'dead' })).toBe(0);
    expect(await q.count({ status: 'pending' })).toBe(n);
  }, 30_000);

  it('restore carries the last code and the code of each attempt', async () => {
    const q = await driver();
    const base = newDelivery({ createdAt: Date.now() - 10_000 });
    const attempts = [attempt(base.createdAt, undefined, TIMEOUT), attempt(base.createdAt + 1, 503)];
    const record: DeliveryRecord = {
      ...base,
      dedup: undefined,
      status: 'dead',
      leaseUntil: undefined,
      updatedAt: base.createdAt + 2,
      lastStatus: undefined,
      lastError: 'older than maxAge',
      lastCode: TIMEOUT,
      lastResponse: undefined,
      deliveredAt: undefined,
      replays: 0,
      replayedAt: undefined,
      bodyBytes: base.request.body?.length ?? 0,
      historyBytes: 0,
      attemptsDropped: 0,
      attempts: 2,
    };
    expect(await q.restore(record, attempts)).toBe('restored');
    const got = (await q.get(record.id))!;
    expect(got.record.lastCode).toBe(TIMEOUT);
    expect(got.attempts.map((a) => a.code)).toEqual([TIMEOUT, undefined]);
    expect(await q.count({ status: 'dead', code: TIMEOUT })).toBe(1);
  });
}
