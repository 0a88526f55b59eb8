/**
 * The durable queue: one SQLite file through Node's built-in `node:sqlite`, in WAL mode with
 * `synchronous=FULL`, so a resolved write survives kill -9 and power loss. This class is the driver
 * contract's operations (types.ts), each one short; the parts they share have a module each:
 *
 * - sqlite-migrations.ts: the schema, an append-only list of migrations, run when the file opens;
 * - sqlite-commit.ts: the group commit every write goes through (writes of one tick in one
 *   transaction, one savepoint each, promises settled after COMMIT);
 * - sqlite-statements.ts: the SQL, prepared once per connection;
 * - sqlite-rows.ts: rows ↔ the contract's records.
 *
 * Reads (get, list, stats, nextDue) run directly and see what has been committed.
 */
import { DatabaseSync } from 'node:sqlite';
import { failureReason } from './failure-log.ts';
import { emptyRouteStats, STATUSES } from './memory.ts';
import { prepareQueueFile, QueueOpenError } from './queue-file.ts';
import { GroupCommit } from './sqlite-commit.ts';
import { migrate, schemaVersion } from './sqlite-migrations.ts';
import {
  type AttemptRow,
  attemptParams,
  type DeliveryRow,
  insertParams,
  nul,
  opt,
  restoreParams,
  toAttempt,
  toRecord,
} from './sqlite-rows.ts';
import { FilterQueries, prepareStatements, type Statements } from './sqlite-statements.ts';
import {
  type AttemptLog,
  attemptBytes,
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
  restoredRecord,
} from './types.ts';

export { MAX_BATCH } from './sqlite-commit.ts';
export { MIGRATIONS } from './sqlite-migrations.ts';

/** How long a statement waits for another connection's write lock (the CLI, a second process). */
export const BUSY_TIMEOUT_MS = 5_000;
/** SQLite's largest page count, the default cap of a connection. */
export const SQLITE_MAX_PAGES = 4_294_967_294;
/** Rows removed per transaction by `purge`, so a large purge never blocks the event loop for long. */
const PURGE_CHUNK = 500;

/** The queue driver on one SQLite file (a `:memory:` or `file:` URI is passed to SQLite as it is). */
export class SqliteDriver implements QueueDriver {
  readonly kind = 'sqlite';
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #s: Statements;
  readonly #writer: GroupCommit;
  readonly #filtered: FilterQueries;
  readonly #keepAttempts: number;
  #closed = false;

  constructor(path: string, options: DriverOptions = {}) {
    this.path = path;
    this.#keepAttempts = keepAttemptsOf(options);
    if (path !== ':memory:' && !path.startsWith('file:')) prepareQueueFile(path);
    try {
      this.#db = new DatabaseSync(path, { timeout: BUSY_TIMEOUT_MS });
    } catch (error) {
      throw new QueueOpenError(path, failureReason(error).reason, { cause: error });
    }
    try {
      this.#db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
      this.#db.exec('PRAGMA journal_mode = WAL');
      this.#db.exec('PRAGMA synchronous = FULL');
      this.#db.exec('PRAGMA fullfsync = ON'); // macOS: a real flush to the disk, not only to its cache
      migrate(this.#db, path);
      this.#s = prepareStatements(this.#db);
      this.#writer = new GroupCommit(this.#db);
      this.#filtered = new FilterQueries(this.#db);
    } catch (error) {
      this.#db.close();
      // "file is not a database", "database is locked", a schema newer than this version…
      throw new QueueOpenError(path, failureReason(error).reason, { cause: error });
    }
  }

  /** Transactions committed by this connection (a test hook: shows that writes are batched). */
  get commits(): number {
    return this.#writer.commits;
  }

  /**
   * Test hook: caps the file at `pages` pages (PRAGMA max_page_count of this connection; its
   * current size when omitted), so the next write that needs a page fails with SQLITE_FULL as it
   * would on a full disk. `limitPages(SQLITE_MAX_PAGES)` lifts the cap.
   */
  limitPages(pages?: number): void {
    const current = (this.#db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count;
    this.#db.exec(`PRAGMA max_page_count = ${Math.floor(pages ?? current)}`);
  }

  /** The schema version of the open file. */
  get schemaVersion(): number {
    return schemaVersion(this.#db);
  }

  /** Queues a write for the next group commit; settles after COMMIT. */
  #write<T>(run: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('queue is closed'));
    return this.#writer.write(run);
  }

  #read<T>(run: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('queue is closed'));
    try {
      return Promise.resolve(run());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  enqueue(delivery: NewDelivery): Promise<void> {
    return this.#write(() => {
      const s = this.#s;
      if (delivery.dedup) {
        const existing = s.dedupGet.get(delivery.routeId, delivery.dedup.key) as
          | { delivery_id: string; expires_at: number }
          | undefined;
        if (existing && existing.expires_at > delivery.createdAt)
          throw new DuplicateDelivery(existing.delivery_id);
        s.dedupPut.run(
          delivery.routeId,
          delivery.dedup.key,
          delivery.id,
          delivery.createdAt + delivery.dedup.windowMs,
        );
      }
      s.insert.run(...insertParams(delivery));
    });
  }

  lease(routeId: string, limit: number, leaseMs: number, now: number): Promise<DeliveryRecord[]> {
    limit = Math.floor(limit);
    if (!(limit > 0)) return this.#read(() => []);
    // A write, not a read: the group commit's BEGIN IMMEDIATE holds the write lock from choosing
    // the records to marking them, so two processes on one file never lease the same record.
    return this.#write(() => {
      const s = this.#s;
      const due = s.leaseCandidates.all(routeId, now, limit, routeId, now, limit, limit) as { id: string }[];
      const leased: DeliveryRecord[] = [];
      for (const { id } of due) {
        const row = s.leaseOne.get(now + leaseMs, now, id) as DeliveryRow | undefined;
        if (row) leased.push(toRecord(row));
      }
      return leased;
    });
  }

  ack(
    id: string,
    result: { status: number; response: string | undefined; attempt: AttemptLog },
  ): Promise<void> {
    return this.#write(() => {
      const now = Date.now();
      const changed = this.#s.ack.run(now, now, result.status, nul(result.response), id).changes;
      if (changed) this.#logAttempt(id, result.attempt);
    });
  }

  nack(
    id: string,
    result: { nextAttemptAt: number; attempt: AttemptLog; response?: string | undefined },
  ): Promise<void> {
    return this.#write(() => {
      const changed = this.#s.nack.run(
        result.nextAttemptAt,
        Date.now(),
        nul(result.attempt.status),
        nul(result.attempt.error),
        nul(result.attempt.code),
        nul(result.response),
        id,
      ).changes;
      if (changed) this.#logAttempt(id, result.attempt);
    });
  }

  dead(
    id: string,
    result: { reason: string; attempt?: AttemptLog | undefined; response?: string | undefined },
  ): Promise<void> {
    return this.#write(() => {
      const now = Date.now();
      const { attempt } = result;
      const changed = attempt
        ? this.#s.deadAttempt.run(
            now,
            result.reason,
            nul(attempt.status),
            nul(attempt.code),
            nul(result.response),
            id,
          ).changes
        : this.#s.dead.run(now, result.reason, nul(result.response), id).changes;
      if (changed && attempt) this.#logAttempt(id, attempt);
    });
  }

  /**
   * Appends to the history and counts the attempt (the record was updated in the same
   * transaction), then drops the rows between the first one and the last `keepAttempts`.
   */
  #logAttempt(id: string, attempt: AttemptLog): void {
    const s = this.#s;
    const bytes = attemptBytes(attempt);
    s.attemptInsert.run(...attemptParams(id, attempt, bytes));
    s.attemptCount.run(bytes, id);
    const { rows } = s.attemptRows.get(id) as { rows: number };
    const excess = rows - 1 - this.#keepAttempts;
    if (excess <= 0) return;
    let dropped = 0;
    for (const row of s.attemptsBeyond.all(id, excess) as { rowid: number; bytes: number }[]) {
      s.attemptDelete.run(row.rowid);
      dropped += row.bytes;
    }
    s.attemptsDropped.run(excess, dropped, id);
  }

  restore(record: DeliveryRecord, attempts: AttemptLog[]): Promise<'restored' | 'exists'> {
    return this.#write(() => {
      const s = this.#s;
      if (s.exists.get(record.id)) return 'exists' as const;
      s.restore.run(...restoreParams(restoredRecord(record, attempts)));
      for (const a of attempts) s.attemptInsert.run(...attemptParams(record.id, a, attemptBytes(a)));
      return 'restored' as const;
    });
  }

  release(ids: string[]): Promise<void> {
    if (ids.length === 0) return this.#read(() => undefined);
    return this.#write(() => {
      const now = Date.now();
      for (const id of ids) this.#s.release.run(now, id);
    });
  }

  replay(selector: { ids: string[] } | ReplayFilter, now: number): Promise<number> {
    return this.#write(() => {
      if ('ids' in selector) {
        let count = 0;
        for (const id of new Set(selector.ids))
          count += Number(this.#s.replayId.run(now, now, now, id).changes);
        return count;
      }
      return this.#filtered.replay(selector, now);
    });
  }

  count(filter: DeliveryFilter): Promise<number> {
    return this.#read(() => this.#filtered.count(filter));
  }

  async purge(filter: {
    status: DeliveryStatus;
    routeId?: string | undefined;
    olderThan: number;
  }): Promise<number> {
    const route = nul(filter.routeId);
    let total = 0;
    for (;;) {
      const removed = await this.#write(() => {
        const s = this.#s;
        const ids = s.purgeCandidates.all(filter.status, filter.olderThan, route, route, PURGE_CHUNK) as {
          id: string;
        }[];
        for (const { id } of ids) {
          s.attemptsDelete.run(id);
          s.deleteOne.run(id);
        }
        return ids.length;
      });
      total += removed;
      if (removed < PURGE_CHUNK) break;
    }
    await this.#write(() => {
      this.#s.dedupExpire.run(Date.now());
      this.#s.countsPrune.run();
    });
    return total;
  }

  get(id: string): Promise<{ record: DeliveryRecord; attempts: AttemptLog[] } | undefined> {
    return this.#read(() => {
      const row = this.#s.get.get(id) as DeliveryRow | undefined;
      if (!row) return undefined;
      const attempts = (this.#s.attemptsOf.all(id) as unknown as AttemptRow[]).map(toAttempt);
      return { record: toRecord(row), attempts };
    });
  }

  list(filter: ListFilter): Promise<DeliveryRecord[]> {
    return this.#read(() => this.#filtered.rows(filter).map(toRecord));
  }

  stats(): Promise<QueueStats> {
    return this.#read(() => {
      const stats: QueueStats = { byRoute: {}, oldestPending: {} };
      const rows = this.#s.counts.all() as {
        route: string;
        status: DeliveryStatus;
        count: number;
        bytes: number;
      }[];
      for (const row of rows) {
        if (!STATUSES.includes(row.status)) continue;
        let route = stats.byRoute[row.route];
        if (!route) {
          route = emptyRouteStats();
          stats.byRoute[row.route] = route;
        }
        route[row.status] = { count: row.count, bytes: row.bytes };
      }
      for (const [routeId, route] of Object.entries(stats.byRoute)) {
        let oldest: number | undefined;
        for (const status of ['pending', 'inflight'] as const) {
          if (route[status].count === 0) continue;
          const row = this.#s.oldest.get(routeId, status) as { oldest: number | null } | undefined;
          const at = row?.oldest ?? undefined;
          if (at !== undefined && (oldest === undefined || at < oldest)) oldest = at;
        }
        stats.oldestPending[routeId] = oldest;
      }
      return stats;
    });
  }

  nextDue(routeId: string): Promise<number | undefined> {
    return this.#read(() => {
      const pending = (this.#s.nextPending.get(routeId) as { due: number | null } | undefined)?.due ?? null;
      const lease = (this.#s.nextLease.get(routeId) as { due: number | null } | undefined)?.due ?? null;
      if (pending === null) return opt(lease);
      if (lease === null) return pending;
      return Math.min(pending, lease);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#writer.flush();
    this.#closed = true;
    this.#db.close();
  }
}
