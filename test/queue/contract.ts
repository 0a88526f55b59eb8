import { afterEach, describe, expect, it } from 'vitest';
import {
  type AttemptLog,
  attemptBytes,
  DEFAULT_KEEP_ATTEMPTS,
  type DeliveryRecord,
  type DriverOptions,
  DuplicateDelivery,
  type NewDelivery,
  type QueueDriver,
} from '../../src/queue/types.ts';
import { filterContract } from './contract-filter.ts';
import { restoreContract } from './contract-restore.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let sequence = 0;

/** Ids sort by creation order, as the contract requires of callers. */
export function nextId(): string {
  sequence += 1;
  return `${Date.now().toString(16).padStart(12, '0')}-${String(sequence).padStart(8, '0')}`;
}

export function newDelivery(overrides: Partial<NewDelivery> = {}): NewDelivery {
  // a second in the past, so a record is due at any `now` a test took before creating it
  const createdAt = overrides.createdAt ?? Date.now() - 1000;
  const id = overrides.id ?? nextId();
  return {
    id,
    routeId: 'r1',
    requestId: `req-${id}`,
    request: {
      method: 'POST',
      url: 'http://127.0.0.1:9/hook',
      headers: { 'content-type': 'application/json', 'x-trace': id },
      body: Buffer.from(JSON.stringify({ id })),
    },
    createdAt,
    nextAttemptAt: createdAt,
    attempts: 0,
    ...overrides,
  };
}

/** A record as another store would return it from get() (what `restore` is given). */
export function storedRecord(overrides: Partial<DeliveryRecord> = {}): DeliveryRecord {
  const { id, routeId, requestId, request, createdAt } = newDelivery(
    overrides.createdAt === undefined ? {} : { createdAt: overrides.createdAt },
  );
  return {
    id,
    routeId,
    requestId,
    request,
    createdAt,
    nextAttemptAt: createdAt,
    attempts: 0,
    dedup: undefined,
    status: 'pending',
    leaseUntil: undefined,
    updatedAt: createdAt,
    lastStatus: undefined,
    lastError: undefined,
    lastCode: undefined,
    lastResponse: undefined,
    deliveredAt: undefined,
    replays: 0,
    replayedAt: undefined,
    bodyBytes: request.body?.length ?? 0,
    historyBytes: 0,
    attemptsDropped: 0,
    ...overrides,
  };
}

function attempt(at: number, status: number | undefined, error?: string): AttemptLog {
  return { at, durationMs: 12, status, error };
}

const ids = (records: DeliveryRecord[]) => records.map((r) => r.id);

/**
 * The behaviour every queue driver promises (src/queue/types.ts). Each test gets a fresh, empty
 * driver from `makeDriver`; the suite closes it afterwards.
 */
export interface DriverCapabilities {
  /** Lock expiry follows the store's real clock (redis): tests that expire a lease by passing a
   * later `now` run a real-time variant instead (short leases, real waiting, under 2 s). */
  realClock?: boolean;
}

export function driverContract(
  name: string,
  makeDriver: (options?: DriverOptions) => QueueDriver | Promise<QueueDriver>,
  capabilities: DriverCapabilities = {},
): void {
  describe(`queue driver contract: ${name}`, () => {
    const open: QueueDriver[] = [];
    afterEach(async () => {
      for (const driver of open.splice(0)) await driver.close();
    });
    async function driver(options?: DriverOptions): Promise<QueueDriver> {
      const d = await makeDriver(options);
      open.push(d);
      return d;
    }

    it('enqueue → lease → ack, with the request stored intact', async () => {
      const q = await driver();
      const now = Date.now();
      const d = newDelivery({
        createdAt: now - 1000,
        nextAttemptAt: now - 1000,
        attempts: 1,
        dedup: { key: 'evt-1', windowMs: HOUR },
      });
      d.request.headers['x-binary'] = 'ä';
      d.request.body = Buffer.from([0, 1, 2, 255, 0]);
      await q.enqueue(d);

      const [leased, ...rest] = await q.lease('r1', 10, 30_000, now);
      expect(rest).toEqual([]);
      expect(leased).toMatchObject({
        id: d.id,
        routeId: 'r1',
        requestId: d.requestId,
        status: 'inflight',
        leaseUntil: now + 30_000,
        createdAt: now - 1000,
        nextAttemptAt: now - 1000,
        attempts: 1,
        replays: 0,
        replayedAt: undefined,
        bodyBytes: 5,
        dedup: { key: 'evt-1', windowMs: HOUR },
      });
      expect(leased!.request.method).toBe('POST');
      expect(leased!.request.url).toBe(d.request.url);
      expect(leased!.request.headers).toEqual(d.request.headers);
      expect(Buffer.isBuffer(leased!.request.body)).toBe(true);
      expect(leased!.request.body!.equals(Buffer.from([0, 1, 2, 255, 0]))).toBe(true);

      await q.ack(d.id, { status: 202, response: '{"ok":true}', attempt: attempt(now, 202) });
      const got = await q.get(d.id);
      expect(got!.record).toMatchObject({
        status: 'delivered',
        leaseUntil: undefined,
        lastStatus: 202,
        lastError: undefined,
        lastResponse: '{"ok":true}',
        attempts: 2,
      });
      expect(got!.record.deliveredAt).toBeGreaterThanOrEqual(now);
      expect(got!.attempts).toEqual([attempt(now, 202)]);
      expect(await q.lease('r1', 10, 30_000, now + DAY)).toEqual([]);
    });

    it('stores the names of configured headers and the target inputs, or nothing for older records', async () => {
      const q = await driver();
      const d = newDelivery();
      d.request.configHeaders = ['x-api-key', 'x-session'];
      d.request.target = { params: { tenant: 'acme', '*': '/a/b%20c' }, rawQuery: 'x=1&y=%C3%A9' };
      const legacy = newDelivery();
      await Promise.all([q.enqueue(d), q.enqueue(legacy)]);
      const leased = await q.lease('r1', 10, 30_000, Date.now());
      const got = leased.find((r) => r.id === d.id)!;
      expect(got.request.configHeaders).toEqual(['x-api-key', 'x-session']);
      expect(got.request.target).toEqual(d.request.target);
      const old = (await q.get(legacy.id))!.record;
      expect(old.request.configHeaders).toBeUndefined();
      expect(old.request.target).toBeUndefined();
      // Copies, like everything else the store returns.
      got.request.target!.params.tenant = 'changed';
      expect((await q.get(d.id))!.record.request.target!.params.tenant).toBe('acme');
    });

    it('stores a request without a body and one with an empty body', async () => {
      const q = await driver();
      const none = newDelivery();
      none.request.body = undefined;
      const empty = newDelivery();
      empty.request.body = Buffer.alloc(0);
      await Promise.all([q.enqueue(none), q.enqueue(empty)]);
      const a = (await q.get(none.id))!.record;
      const b = (await q.get(empty.id))!.record;
      expect(a.request.body).toBeUndefined();
      expect(a.bodyBytes).toBe(0);
      expect(b.request.body?.length).toBe(0);
      expect(b.bodyBytes).toBe(0);
    });

    it('returns copies: changing what was passed or returned does not change the store', async () => {
      const q = await driver();
      const d = newDelivery();
      await q.enqueue(d);
      d.request.headers['x-trace'] = 'changed';
      d.request.body!.fill(0);
      const first = (await q.get(d.id))!.record;
      first.request.headers['x-trace'] = 'changed again';
      const second = (await q.get(d.id))!.record;
      expect(second.request.headers['x-trace']).toBe(d.id);
      expect(JSON.parse(second.request.body!.toString())).toEqual({ id: d.id });
    });

    it('rejects a second record with an id already stored', async () => {
      const q = await driver();
      const d = newDelivery();
      await q.enqueue(d);
      await expect(q.enqueue({ ...d, routeId: 'r2' })).rejects.toThrow();
      expect((await q.get(d.id))!.record.routeId).toBe('r1');
    });

    it('leases at most `limit`, oldest due first, only due records, only of the route', async () => {
      const q = await driver();
      const now = Date.now();
      const at = (offset: number, routeId = 'r1') =>
        newDelivery({ routeId, createdAt: now - 10_000, nextAttemptAt: now + offset });
      const later = at(5_000);
      const c = at(-1_000);
      const a = at(-3_000);
      const b = at(-2_000);
      const d = at(0);
      const other = at(-9_000, 'r2');
      for (const x of [later, c, a, b, d, other]) await q.enqueue(x);

      expect(ids(await q.lease('r1', 2, 30_000, now))).toEqual([a.id, b.id]);
      expect(ids(await q.lease('r1', 10, 30_000, now))).toEqual([c.id, d.id]);
      expect(await q.lease('r1', 10, 30_000, now)).toEqual([]);
      expect(await q.lease('r1', 0, 30_000, now + 10_000)).toEqual([]);
      expect(await q.lease('r1', 0.5, 30_000, now + 10_000)).toEqual([]);
      expect(ids(await q.lease('r1', 10, 30_000, now + 5_000))).toEqual([later.id]);
      expect(ids(await q.lease('r2', 10, 30_000, now))).toEqual([other.id]);
      expect(await q.lease('nope', 10, 30_000, now)).toEqual([]);
    });

    it('leases a record again once its lease expired (at-least-once), not before', async () => {
      const q = await driver();
      if (capabilities.realClock) {
        // The lease is the store's own lock on its clock: wait for it to run out (bounded).
        const start = Date.now();
        const d = newDelivery({ nextAttemptAt: start });
        await q.enqueue(d);
        const [first] = await q.lease('r1', 1, 300, start);
        expect(first!.leaseUntil).toBe(start + 300);
        expect(await q.lease('r1', 10, 300, Date.now())).toEqual([]);
        let again: DeliveryRecord | undefined;
        let at = 0;
        while (again === undefined && Date.now() < start + 1_800) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          at = Date.now();
          [again] = await q.lease('r1', 10, 5_000, at);
        }
        expect(at).toBeGreaterThanOrEqual(start + 300);
        expect(again).toMatchObject({ id: d.id, status: 'inflight', leaseUntil: at + 5_000, attempts: 0 });
        expect(await q.lease('r1', 10, 5_000, Date.now())).toEqual([]);
        return;
      }
      const now = Date.now();
      const d = newDelivery({ nextAttemptAt: now });
      await q.enqueue(d);
      const [first] = await q.lease('r1', 1, 1_000, now);
      expect(first!.leaseUntil).toBe(now + 1_000);
      expect(await q.lease('r1', 10, 1_000, now + 999)).toEqual([]);
      const [again] = await q.lease('r1', 10, 5_000, now + 1_000);
      expect(again).toMatchObject({ id: d.id, status: 'inflight', leaseUntil: now + 6_000, attempts: 0 });
      expect(await q.lease('r1', 10, 5_000, now + 5_999)).toEqual([]);
    });

    it('nack records the attempt and schedules the retry at nextAttemptAt', async () => {
      const q = await driver();
      const now = Date.now();
      const d = newDelivery({ nextAttemptAt: now });
      await q.enqueue(d);
      await q.lease('r1', 1, 30_000, now);
      await q.nack(d.id, { nextAttemptAt: now + 60_000, attempt: attempt(now, 503), response: 'busy' });

      const got = (await q.get(d.id))!;
      expect(got.record).toMatchObject({
        status: 'pending',
        leaseUntil: undefined,
        nextAttemptAt: now + 60_000,
        attempts: 1,
        lastStatus: 503,
        lastError: undefined,
        lastResponse: 'busy',
      });
      expect(got.attempts).toEqual([attempt(now, 503)]);
      expect(await q.lease('r1', 10, 30_000, now + 59_999)).toEqual([]);
      expect(ids(await q.lease('r1', 10, 30_000, now + 60_000))).toEqual([d.id]);

      await q.nack(d.id, {
        nextAttemptAt: now + 120_000,
        attempt: attempt(now + 60_000, undefined, 'ECONNREFUSED'),
      });
      const second = (await q.get(d.id))!;
      expect(second.record).toMatchObject({
        attempts: 2,
        lastStatus: undefined,
        lastError: 'ECONNREFUSED',
        lastResponse: undefined,
      });
      expect(second.attempts).toEqual([attempt(now, 503), attempt(now + 60_000, undefined, 'ECONNREFUSED')]);
    });

    it('dead keeps the last status, error and response; finished records ignore stale results', async () => {
      const q = await driver();
      const now = Date.now();
      const a = newDelivery();
      const b = newDelivery();
      await q.enqueue(a);
      await q.enqueue(b);
      await q.lease('r1', 2, 30_000, now);

      await q.dead(a.id, {
        reason: 'HTTP 400 is not retryable',
        attempt: attempt(now, 400),
        response: 'bad',
      });
      expect((await q.get(a.id))!.record).toMatchObject({
        status: 'dead',
        leaseUntil: undefined,
        attempts: 1,
        lastStatus: 400,
        lastError: 'HTTP 400 is not retryable',
        lastResponse: 'bad',
      });

      await q.nack(b.id, { nextAttemptAt: now, attempt: attempt(now, 500), response: 'oops' });
      await q.dead(b.id, { reason: 'older than maxAge' });
      const deadB = (await q.get(b.id))!;
      expect(deadB.record).toMatchObject({
        status: 'dead',
        attempts: 1,
        lastStatus: 500,
        lastError: 'older than maxAge',
        lastResponse: 'oops',
      });
      expect(deadB.attempts).toHaveLength(1);

      // a worker whose lease expired reports late: a finished record stays as it is
      await q.ack(a.id, { status: 200, response: undefined, attempt: attempt(now, 200) });
      await q.nack(b.id, { nextAttemptAt: now, attempt: attempt(now, 500) });
      expect((await q.get(a.id))!.record.status).toBe('dead');
      expect((await q.get(b.id))!.record).toMatchObject({ status: 'dead', attempts: 1 });
      await q.dead('unknown', { reason: 'x' });
      await q.ack('unknown', { status: 200, response: undefined, attempt: attempt(now, 200) });
    });

    it('release returns inflight records to pending without counting an attempt', async () => {
      const q = await driver();
      const now = Date.now();
      const a = newDelivery({ nextAttemptAt: now - 10 });
      const b = newDelivery({ nextAttemptAt: now - 5 });
      const c = newDelivery({ nextAttemptAt: now });
      for (const x of [a, b, c]) await q.enqueue(x);
      await q.lease('r1', 2, 30_000, now);
      await q.release([a.id, b.id, c.id, 'unknown']);
      await q.release([]);
      for (const x of [a, b, c]) {
        expect((await q.get(x.id))!.record).toMatchObject({
          status: 'pending',
          leaseUntil: undefined,
          attempts: 0,
        });
      }
      expect((await q.get(a.id))!.attempts).toEqual([]);
      expect(ids(await q.lease('r1', 10, 30_000, now))).toEqual([a.id, b.id, c.id]);
    });

    it('replays by ids: dead and delivered become due now with attempts reset', async () => {
      const q = await driver();
      const now = Date.now();
      const dead = newDelivery();
      const delivered = newDelivery();
      const pending = newDelivery({ nextAttemptAt: now + HOUR });
      for (const x of [dead, delivered, pending]) await q.enqueue(x);
      await q.lease('r1', 10, 30_000, now);
      await q.dead(dead.id, { reason: 'exhausted', attempt: attempt(now, 500) });
      await q.ack(delivered.id, { status: 200, response: 'ok', attempt: attempt(now, 200) });

      const later = now + 1_000;
      expect(await q.replay({ ids: [dead.id, delivered.id, pending.id, 'unknown', dead.id] }, later)).toBe(2);
      for (const x of [dead, delivered]) {
        const got = (await q.get(x.id))!;
        expect(got.record).toMatchObject({
          status: 'pending',
          attempts: 0,
          replays: 1,
          replayedAt: later,
          nextAttemptAt: later,
          leaseUntil: undefined,
          deliveredAt: undefined,
          updatedAt: later,
        });
        expect(got.attempts).toHaveLength(1);
      }
      expect((await q.get(pending.id))!.record).toMatchObject({ replays: 0, nextAttemptAt: now + HOUR });
      expect(ids(await q.lease('r1', 10, 30_000, later))).toEqual([dead.id, delivered.id]);
    });

    it('replays by route and status', async () => {
      const q = await driver();
      const now = Date.now();
      const r1a = newDelivery({ routeId: 'r1' });
      const r1b = newDelivery({ routeId: 'r1' });
      const r1ok = newDelivery({ routeId: 'r1' });
      const r2a = newDelivery({ routeId: 'r2' });
      for (const x of [r1a, r1b, r1ok, r2a]) await q.enqueue(x);
      await q.lease('r1', 10, 30_000, now);
      await q.lease('r2', 10, 30_000, now);
      for (const x of [r1a, r1b, r2a]) await q.dead(x.id, { reason: 'exhausted' });
      await q.ack(r1ok.id, { status: 200, response: undefined, attempt: attempt(now, 200) });

      expect(await q.replay({ routeId: 'r1', status: 'dead' }, now)).toBe(2);
      expect((await q.get(r2a.id))!.record.status).toBe('dead');
      expect((await q.get(r1ok.id))!.record.status).toBe('delivered');
      expect(await q.replay({ status: 'dead' }, now)).toBe(1);
      expect(await q.replay({ status: 'delivered' }, now)).toBe(1);
      expect(await q.replay({ routeId: 'r9', status: 'dead' }, now)).toBe(0);
      for (const x of [r1a, r1b, r1ok, r2a]) {
        expect((await q.get(x.id))!.record).toMatchObject({ status: 'pending', replays: 1, attempts: 0 });
      }
    });

    it('purges by status, age and route, with the attempt history', async () => {
      const q = await driver();
      const now = Date.now();
      const old1 = newDelivery({ routeId: 'r1', createdAt: now - 10 * DAY, nextAttemptAt: now + DAY });
      const old2 = newDelivery({ routeId: 'r2', createdAt: now - 10 * DAY, nextAttemptAt: now + DAY });
      const fresh = newDelivery({ routeId: 'r1', createdAt: now, nextAttemptAt: now + DAY });
      const done = newDelivery({ routeId: 'r1' });
      for (const x of [old1, old2, fresh, done]) await q.enqueue(x);
      await q.lease('r1', 10, 30_000, now);
      await q.ack(done.id, { status: 200, response: undefined, attempt: attempt(now, 200) });

      expect(await q.purge({ status: 'pending', routeId: 'r1', olderThan: now - DAY })).toBe(1);
      expect(await q.get(old1.id)).toBeUndefined();
      expect(await q.get(old2.id)).toBeDefined();
      expect(await q.get(fresh.id)).toBeDefined();
      expect(await q.purge({ status: 'pending', olderThan: now - DAY })).toBe(1);
      expect(await q.get(old2.id)).toBeUndefined();
      expect(await q.get(fresh.id)).toBeDefined();

      // the delivered one was updated just now: kept by an age cut-off before it, purged after it
      expect(await q.purge({ status: 'delivered', olderThan: now - 1 })).toBe(0);
      expect(await q.purge({ status: 'dead', olderThan: Date.now() + DAY })).toBe(0);
      expect(await q.purge({ status: 'delivered', olderThan: Date.now() + 1 })).toBe(1);
      expect(await q.get(done.id)).toBeUndefined();
      expect(await q.list({})).toHaveLength(1);
      const stats = await q.stats();
      expect(Object.keys(stats.byRoute)).toEqual(['r1']);
      expect(stats.byRoute.r1!.pending.count).toBe(1);
    });

    it('purges many records (more than one chunk)', async () => {
      const q = await driver();
      const now = Date.now();
      const all = Array.from({ length: 1_234 }, () =>
        newDelivery({ createdAt: now - DAY, nextAttemptAt: now + DAY }),
      );
      await Promise.all(all.map((d) => q.enqueue(d)));
      expect(await q.purge({ status: 'pending', olderThan: now })).toBe(1_234);
      expect(await q.list({})).toEqual([]);
      expect(await q.stats()).toEqual({ byRoute: {}, oldestPending: {} });
    });

    it('get returns the attempt history in order, undefined for an unknown id', async () => {
      const q = await driver();
      const now = Date.now();
      const d = newDelivery();
      await q.enqueue(d);
      expect(await q.get('unknown')).toBeUndefined();
      expect((await q.get(d.id))!.attempts).toEqual([]);
      for (let i = 0; i < 3; i++) {
        await q.lease('r1', 1, 30_000, now + i * 1000);
        await q.nack(d.id, {
          nextAttemptAt: now + (i + 1) * 1000,
          attempt: attempt(now + i * 1000, 500 + i),
        });
      }
      await q.lease('r1', 1, 30_000, now + 3000);
      await q.ack(d.id, { status: 204, response: undefined, attempt: attempt(now + 3000, 204) });
      const got = (await q.get(d.id))!;
      expect(got.attempts.map((a) => a.status)).toEqual([500, 501, 502, 204]);
      expect(got.attempts.map((a) => a.at)).toEqual([now, now + 1000, now + 2000, now + 3000]);
      expect(got.record.attempts).toBe(4);
    });

    it('keeps the first attempt and the last `keepAttempts`, counting those dropped between them', async () => {
      const q = await driver({ keepAttempts: 3 });
      const now = Date.now();
      const d = newDelivery({ nextAttemptAt: now });
      await q.enqueue(d);
      const bodyBytes = d.request.body!.length;
      const made: AttemptLog[] = [];
      for (let i = 0; i < 10; i++) {
        await q.lease('r1', 1, 30_000, now + i * 1000);
        const a = attempt(now + i * 1000, undefined, `connect ECONNREFUSED (${'x'.repeat(i * 10)})`);
        made.push(a);
        await q.nack(d.id, { nextAttemptAt: now + (i + 1) * 1000, attempt: a });
        const kept = [made[0]!, ...made.slice(1).slice(-3)];
        const got = (await q.get(d.id))!;
        expect(got.attempts).toEqual(kept);
        expect(got.record).toMatchObject({
          attempts: i + 1,
          attemptsDropped: Math.max(0, i + 1 - 4),
          historyBytes: kept.reduce((sum, k) => sum + attemptBytes(k), 0),
        });
      }
      // The history is part of what a pending delivery holds: counted in the pending bytes.
      const kept = [made[0]!, made[7]!, made[8]!, made[9]!];
      const history = kept.reduce((sum, k) => sum + attemptBytes(k), 0);
      expect((await q.stats()).byRoute.r1!.pending).toEqual({ count: 1, bytes: bodyBytes + history });

      await q.lease('r1', 1, 30_000, now + 10_000);
      const last = attempt(now + 10_000, 200);
      await q.ack(d.id, { status: 200, response: 'ok', attempt: last });
      const done = (await q.get(d.id))!;
      expect(done.attempts).toEqual([made[0], made[8], made[9], last]);
      expect(done.record).toMatchObject({ status: 'delivered', attempts: 11, attemptsDropped: 7 });
      const doneHistory = [made[0]!, made[8]!, made[9]!, last].reduce((sum, k) => sum + attemptBytes(k), 0);
      expect(done.record.historyBytes).toBe(doneHistory);
      expect((await q.stats()).byRoute.r1!).toMatchObject({
        pending: { count: 0, bytes: 0 },
        delivered: { count: 1, bytes: bodyBytes + doneHistory },
      });

      // A replay keeps the history and its bytes; a dead-letter adds to it like any attempt.
      expect(await q.replay({ ids: [d.id] }, now + 11_000)).toBe(1);
      expect((await q.stats()).byRoute.r1!.pending).toEqual({ count: 1, bytes: bodyBytes + doneHistory });
      await q.lease('r1', 1, 30_000, now + 11_000);
      const refused = attempt(now + 11_000, 400);
      await q.dead(d.id, { reason: 'target answered 400 (not retryable)', attempt: refused });
      const dead = (await q.get(d.id))!;
      expect(dead.attempts).toEqual([made[0], made[9], last, refused]);
      expect(dead.record).toMatchObject({ status: 'dead', attempts: 1, attemptsDropped: 8 });

      // Purged with its history: nothing is left counted.
      expect(await q.purge({ status: 'dead', olderThan: Date.now() + DAY })).toBe(1);
      expect(await q.stats()).toEqual({ byRoute: {}, oldestPending: {} });
    });

    it(`keeps ${DEFAULT_KEEP_ATTEMPTS} + 1 attempts by default`, async () => {
      const q = await driver();
      const now = Date.now();
      const d = newDelivery({ nextAttemptAt: now });
      await q.enqueue(d);
      for (let i = 0; i < DEFAULT_KEEP_ATTEMPTS + 5; i++) {
        await q.lease('r1', 1, 30_000, now + i);
        await q.nack(d.id, { nextAttemptAt: now + i + 1, attempt: attempt(now + i, 503) });
      }
      const got = (await q.get(d.id))!;
      expect(got.attempts).toHaveLength(DEFAULT_KEEP_ATTEMPTS + 1);
      expect(got.attempts[0]!.at).toBe(now);
      expect(got.attempts.at(-1)!.at).toBe(now + DEFAULT_KEEP_ATTEMPTS + 4);
      expect(got.record).toMatchObject({ attempts: DEFAULT_KEEP_ATTEMPTS + 5, attemptsDropped: 4 });
    });

    it('lists with filters, in id order, paging with `after`', async () => {
      const q = await driver();
      const now = Date.now();
      const all: NewDelivery[] = [];
      for (let i = 0; i < 25; i++) {
        all.push(newDelivery({ routeId: i % 2 ? 'odd' : 'even', createdAt: now - (25 - i) * 1000 }));
      }
      // enqueued in shuffled order: the listing still follows the ids
      for (const d of [...all].reverse()) await q.enqueue(d);
      const odd = all.filter((d) => d.routeId === 'odd');
      await q.lease('odd', 3, 30_000, now);

      expect(ids(await q.list({}))).toEqual(ids(all as DeliveryRecord[]));
      expect(ids(await q.list({ limit: 5 }))).toEqual(all.slice(0, 5).map((d) => d.id));
      expect(ids(await q.list({ routeId: 'odd' }))).toEqual(odd.map((d) => d.id));
      expect(ids(await q.list({ routeId: 'odd', status: 'inflight' }))).toEqual(
        odd.slice(0, 3).map((d) => d.id),
      );
      expect(ids(await q.list({ status: 'inflight' }))).toEqual(odd.slice(0, 3).map((d) => d.id));
      expect(await q.list({ status: 'dead' })).toEqual([]);
      // pending records were last updated when created; the leased ones (odd 1, 3, 5) at `now`
      expect(ids(await q.list({ olderThan: now - 20_000 }))).toEqual([all[0]!.id, all[2]!.id, all[4]!.id]);
      expect(await q.list({ routeId: 'even', limit: 0 })).toEqual([]);

      const pages: string[][] = [];
      let after: string | undefined;
      for (;;) {
        const page = await q.list({ limit: 10, after });
        if (page.length === 0) break;
        pages.push(ids(page));
        after = page.at(-1)!.id;
      }
      expect(pages.map((p) => p.length)).toEqual([10, 10, 5]);
      expect(pages.flat()).toEqual(all.map((d) => d.id));
      expect(ids(await q.list({ routeId: 'even', after: all[20]!.id }))).toEqual([all[22]!.id, all[24]!.id]);
    });

    it('stats: count and bytes per route and status, oldest pending per route', async () => {
      const q = await driver();
      expect(await q.stats()).toEqual({ byRoute: {}, oldestPending: {} });
      const now = Date.now();
      const body = (n: number) => ({ method: 'POST', url: 'http://x/', headers: {}, body: Buffer.alloc(n) });
      const a1 = newDelivery({ routeId: 'a', createdAt: now - 5000, request: body(10) });
      const a2 = newDelivery({ routeId: 'a', createdAt: now - 4000, request: body(20) });
      const a3 = newDelivery({ routeId: 'a', createdAt: now - 3000, request: body(30) });
      const a4 = newDelivery({ routeId: 'a', createdAt: now - 2000, request: body(40) });
      const b1 = newDelivery({ routeId: 'b', createdAt: now - 9000, request: body(7) });
      for (const x of [a1, a2, a3, a4, b1]) await q.enqueue(x);
      expect(ids(await q.lease('a', 3, 30_000, now))).toEqual([a1.id, a2.id, a3.id]);
      await q.ack(a2.id, { status: 200, response: undefined, attempt: attempt(now, 200) });
      await q.dead(a3.id, { reason: 'no' });
      await q.lease('b', 1, 30_000, now);
      await q.ack(b1.id, { status: 200, response: undefined, attempt: attempt(now, 200) });

      const stats = await q.stats();
      // A delivery counts its body and its kept attempts (a2 and b1 have one each, a3 none).
      const one = attemptBytes(attempt(now, 200));
      expect(stats.byRoute).toEqual({
        a: {
          pending: { count: 1, bytes: 40 },
          inflight: { count: 1, bytes: 10 },
          delivered: { count: 1, bytes: 20 + one },
          dead: { count: 1, bytes: 30 },
        },
        b: {
          pending: { count: 0, bytes: 0 },
          inflight: { count: 0, bytes: 0 },
          delivered: { count: 1, bytes: 7 + one },
          dead: { count: 0, bytes: 0 },
        },
      });
      // a1 is in flight and older than the pending a4
      expect(stats.oldestPending).toEqual({ a: now - 5000, b: undefined });
      await q.ack(a1.id, { status: 200, response: undefined, attempt: attempt(now, 200) });
      expect((await q.stats()).oldestPending.a).toBe(now - 2000);
    });

    it('nextDue: the earliest pending due time or lease expiry of the route', async () => {
      const q = await driver();
      const now = Date.now();
      expect(await q.nextDue('r1')).toBeUndefined();
      const a = newDelivery({ nextAttemptAt: now + 5_000 });
      const b = newDelivery({ nextAttemptAt: now + 2_000 });
      await q.enqueue(a);
      await q.enqueue(b);
      await q.enqueue(newDelivery({ routeId: 'r2', nextAttemptAt: now }));
      expect(await q.nextDue('r1')).toBe(now + 2_000);
      await q.lease('r1', 1, 60_000, now + 2_000);
      expect(await q.nextDue('r1')).toBe(now + 5_000);
      await q.lease('r1', 1, 1_000, now + 5_000);
      expect(await q.nextDue('r1')).toBe(now + 6_000);
      await q.ack(a.id, { status: 200, response: undefined, attempt: attempt(now, 200) });
      expect(await q.nextDue('r1')).toBe(now + 62_000);
      await q.dead(b.id, { reason: 'x' });
      expect(await q.nextDue('r1')).toBeUndefined();
    });

    it('dedup: a key accepted within the window is a DuplicateDelivery naming the first', async () => {
      const q = await driver();
      const now = Date.now();
      const first = newDelivery({ createdAt: now, dedup: { key: 'evt-1', windowMs: 60_000 } });
      await q.enqueue(first);

      const dup = newDelivery({ createdAt: now + 59_999, dedup: { key: 'evt-1', windowMs: 60_000 } });
      const error = await q.enqueue(dup).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DuplicateDelivery);
      expect((error as DuplicateDelivery).existingId).toBe(first.id);
      expect(await q.get(dup.id)).toBeUndefined();

      // another route, another key: accepted
      await q.enqueue(
        newDelivery({ routeId: 'r2', createdAt: now, dedup: { key: 'evt-1', windowMs: 60_000 } }),
      );
      await q.enqueue(newDelivery({ createdAt: now, dedup: { key: 'evt-2', windowMs: 60_000 } }));

      // after the window: accepted, and it is the one remembered from then on
      const after = newDelivery({ createdAt: now + 60_000, dedup: { key: 'evt-1', windowMs: 60_000 } });
      await q.enqueue(after);
      const again = newDelivery({ createdAt: now + 60_001, dedup: { key: 'evt-1', windowMs: 60_000 } });
      await expect(q.enqueue(again)).rejects.toMatchObject({ existingId: after.id });

      // purging the first record does not forget a key still in its window
      await q.purge({ status: 'pending', routeId: 'r1', olderThan: Date.now() + DAY });
      await expect(
        q.enqueue(newDelivery({ createdAt: now + 60_002, dedup: { key: 'evt-1', windowMs: 60_000 } })),
      ).rejects.toBeInstanceOf(DuplicateDelivery);
    });

    it('dedup in concurrent enqueues: one duplicate fails alone, the others are stored', async () => {
      const q = await driver();
      const now = Date.now();
      const batch = Array.from({ length: 10 }, (_, i) =>
        newDelivery({ createdAt: now, dedup: { key: i === 7 ? 'k3' : `k${i}`, windowMs: 60_000 } }),
      );
      const results = await Promise.allSettled(batch.map((d) => q.enqueue(d)));
      expect(results.map((r) => r.status)).toEqual([
        ...Array(7).fill('fulfilled'),
        'rejected',
        'fulfilled',
        'fulfilled',
      ]);
      expect((results[7] as PromiseRejectedResult).reason).toMatchObject({ existingId: batch[3]!.id });
      expect(ids(await q.list({}))).toEqual(batch.filter((_, i) => i !== 7).map((d) => d.id));
    });

    it('concurrent enqueues are all stored', async () => {
      const q = await driver();
      const all = Array.from({ length: 600 }, () => newDelivery());
      await Promise.all(all.map((d) => q.enqueue(d)));
      expect((await q.stats()).byRoute.r1!.pending.count).toBe(600);
      const listed = await q.list({ limit: 1000 });
      expect(new Set(ids(listed))).toEqual(new Set(all.map((d) => d.id)));
    });

    it('concurrent leases never hand out the same record twice', async () => {
      const q = await driver();
      const now = Date.now();
      await Promise.all(Array.from({ length: 100 }, () => q.enqueue(newDelivery({ nextAttemptAt: now }))));
      const leases = await Promise.all(Array.from({ length: 20 }, () => q.lease('r1', 7, 30_000, now)));
      const leased = leases.flatMap(ids);
      expect(leased).toHaveLength(100);
      expect(new Set(leased).size).toBe(100);
    });

    restoreContract(() => driver(), storedRecord);
    filterContract(() => driver(), newDelivery);

    it('rejects calls after close', async () => {
      const q = await makeDriver();
      await q.close();
      await expect(q.enqueue(newDelivery())).rejects.toThrow(/closed/);
      await expect(q.get('x')).rejects.toThrow(/closed/);
      await q.close();
    });
  });
}
