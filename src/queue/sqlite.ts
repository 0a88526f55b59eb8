import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { failureReason } from './failure-log.ts';
import { DEFAULT_LIST_LIMIT, emptyRouteStats, STATUSES } from './memory.ts';
import { prepareQueueFile, QueueOpenError } from './queue-file.ts';
import {
  type AttemptLog,
  attemptBytes,
  type DeliveryRecord,
  type DeliveryStatus,
  type DriverOptions,
  DuplicateDelivery,
  keepAttemptsOf,
  type ListFilter,
  type NewDelivery,
  type QueueDriver,
  type QueueStats,
  type StoredTarget,
} from './types.ts';

/** Writes gathered in one tick are committed together; a batch this large is committed at once. */
export const MAX_BATCH = 256;
/** How long a statement waits for another connection's write lock (the CLI, a second process). */
export const BUSY_TIMEOUT_MS = 5_000;
/** SQLite's largest page count, the default cap of a connection. */
export const SQLITE_MAX_PAGES = 4_294_967_294;
/** Rows removed per transaction by `purge`, so a large purge never blocks the event loop for long. */
const PURGE_CHUNK = 500;

/**
 * Schema migrations: entry i brings the file from version i to i + 1. Append, never edit.
 *
 * Ids are chosen by the caller and must sort by creation time (e.g. a time-prefixed id such as a
 * ULID or UUIDv7): `list` pages with `after` (id > after) and relies on that order.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    route TEXT NOT NULL,
    request_id TEXT NOT NULL,
    method TEXT NOT NULL,
    url TEXT NOT NULL,
    headers TEXT NOT NULL,
    body BLOB,
    body_bytes INTEGER NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_until INTEGER,
    attempts INTEGER NOT NULL,
    replays INTEGER NOT NULL DEFAULT 0,
    replayed_at INTEGER,
    last_status INTEGER,
    last_error TEXT,
    last_response TEXT,
    delivered_at INTEGER,
    dedup_key TEXT,
    dedup_window INTEGER
  );
  CREATE INDEX deliveries_due ON deliveries (route, status, next_attempt_at);
  CREATE INDEX deliveries_lease ON deliveries (route, lease_until) WHERE status = 'inflight';
  CREATE INDEX deliveries_age ON deliveries (route, status, created_at);
  CREATE INDEX deliveries_updated ON deliveries (status, updated_at);

  CREATE TABLE attempts (
    delivery_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    status INTEGER,
    error TEXT
  );
  CREATE INDEX attempts_delivery ON attempts (delivery_id);

  CREATE TABLE dedup (
    route TEXT NOT NULL,
    key TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (route, key)
  ) WITHOUT ROWID;
  CREATE INDEX dedup_expiry ON dedup (expires_at);

  -- Count and bytes per route and status, kept by triggers so stats() reads a few rows instead of
  -- scanning every record (delivered ones are retained for days).
  CREATE TABLE counts (
    route TEXT NOT NULL,
    status TEXT NOT NULL,
    count INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    PRIMARY KEY (route, status)
  ) WITHOUT ROWID;
  CREATE TRIGGER deliveries_counts_insert AFTER INSERT ON deliveries BEGIN
    INSERT INTO counts (route, status, count, bytes) VALUES (new.route, new.status, 1, new.body_bytes)
      ON CONFLICT (route, status) DO UPDATE SET count = count + 1, bytes = bytes + excluded.bytes;
  END;
  CREATE TRIGGER deliveries_counts_delete AFTER DELETE ON deliveries BEGIN
    UPDATE counts SET count = count - 1, bytes = bytes - old.body_bytes
      WHERE route = old.route AND status = old.status;
  END;
  CREATE TRIGGER deliveries_counts_update AFTER UPDATE OF route, status, body_bytes ON deliveries
  WHEN old.route IS NOT new.route OR old.status IS NOT new.status OR old.body_bytes IS NOT new.body_bytes
  BEGIN
    UPDATE counts SET count = count - 1, bytes = bytes - old.body_bytes
      WHERE route = old.route AND status = old.status;
    INSERT INTO counts (route, status, count, bytes) VALUES (new.route, new.status, 1, new.body_bytes)
      ON CONFLICT (route, status) DO UPDATE SET count = count + 1, bytes = bytes + excluded.bytes;
  END;
  `,
  // 2: a bounded attempt history. Each attempt row carries what it counts toward the delivery's
  // bytes (64, ATTEMPT_ROW_BYTES when this was written, plus its error text); a delivery keeps the sum of its kept rows and how
  // many rows were dropped, and counts by the body and the history together. Histories written
  // before are trimmed at their next attempt.
  `
  ALTER TABLE attempts ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
  UPDATE attempts SET bytes = 64 + coalesce(length(CAST(error AS BLOB)), 0);
  ALTER TABLE deliveries ADD COLUMN history_bytes INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE deliveries ADD COLUMN attempts_dropped INTEGER NOT NULL DEFAULT 0;
  UPDATE deliveries SET history_bytes =
    coalesce((SELECT sum(bytes) FROM attempts WHERE delivery_id = deliveries.id), 0);

  DROP TRIGGER deliveries_counts_insert;
  DROP TRIGGER deliveries_counts_delete;
  DROP TRIGGER deliveries_counts_update;
  CREATE TRIGGER deliveries_counts_insert AFTER INSERT ON deliveries BEGIN
    INSERT INTO counts (route, status, count, bytes)
      VALUES (new.route, new.status, 1, new.body_bytes + new.history_bytes)
      ON CONFLICT (route, status) DO UPDATE SET count = count + 1, bytes = bytes + excluded.bytes;
  END;
  CREATE TRIGGER deliveries_counts_delete AFTER DELETE ON deliveries BEGIN
    UPDATE counts SET count = count - 1, bytes = bytes - (old.body_bytes + old.history_bytes)
      WHERE route = old.route AND status = old.status;
  END;
  CREATE TRIGGER deliveries_counts_update AFTER UPDATE OF route, status, body_bytes, history_bytes ON deliveries
  WHEN old.route IS NOT new.route OR old.status IS NOT new.status OR old.body_bytes IS NOT new.body_bytes
    OR old.history_bytes IS NOT new.history_bytes
  BEGIN
    UPDATE counts SET count = count - 1, bytes = bytes - (old.body_bytes + old.history_bytes)
      WHERE route = old.route AND status = old.status;
    INSERT INTO counts (route, status, count, bytes)
      VALUES (new.route, new.status, 1, new.body_bytes + new.history_bytes)
      ON CONFLICT (route, status) DO UPDATE SET count = count + 1, bytes = bytes + excluded.bytes;
  END;
  DELETE FROM counts;
  INSERT INTO counts (route, status, count, bytes)
    SELECT route, status, count(*), sum(body_bytes + history_bytes) FROM deliveries GROUP BY route, status;
  `,
  // 3: what the configuration supplies is no longer stored with a delivery: the names of the
  // headers it fixes (JSON array) and the inputs the target URL is rendered from at each attempt
  // (JSON { params, rawQuery }). NULL on older rows, which are sent as they were stored.
  `
  ALTER TABLE deliveries ADD COLUMN config_headers TEXT;
  ALTER TABLE deliveries ADD COLUMN target TEXT;
  `,
];

interface DeliveryRow {
  id: string;
  route: string;
  request_id: string;
  method: string;
  url: string;
  headers: string;
  body: Uint8Array | null;
  body_bytes: number;
  status: DeliveryStatus;
  created_at: number;
  updated_at: number;
  next_attempt_at: number;
  lease_until: number | null;
  attempts: number;
  replays: number;
  replayed_at: number | null;
  last_status: number | null;
  last_error: string | null;
  last_response: string | null;
  delivered_at: number | null;
  dedup_key: string | null;
  dedup_window: number | null;
  history_bytes: number;
  attempts_dropped: number;
  config_headers: string | null;
  target: string | null;
}

interface AttemptRow {
  at: number;
  duration_ms: number;
  status: number | null;
  error: string | null;
}

interface PendingWrite {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

const opt = <T>(value: T | null): T | undefined => (value === null ? undefined : value);
const nul = <T>(value: T | undefined): T | null => (value === undefined ? null : value);

function toRecord(row: DeliveryRow): DeliveryRecord {
  return {
    id: row.id,
    routeId: row.route,
    requestId: row.request_id,
    request: {
      method: row.method,
      url: row.url,
      headers: JSON.parse(row.headers) as Record<string, string>,
      body:
        row.body === null
          ? undefined
          : Buffer.from(row.body.buffer, row.body.byteOffset, row.body.byteLength),
      ...(row.config_headers === null ? {} : { configHeaders: JSON.parse(row.config_headers) as string[] }),
      ...(row.target === null ? {} : { target: JSON.parse(row.target) as StoredTarget }),
    },
    createdAt: row.created_at,
    nextAttemptAt: row.next_attempt_at,
    attempts: row.attempts,
    dedup: row.dedup_key === null ? undefined : { key: row.dedup_key, windowMs: row.dedup_window ?? 0 },
    status: row.status,
    leaseUntil: opt(row.lease_until),
    updatedAt: row.updated_at,
    lastStatus: opt(row.last_status),
    lastError: opt(row.last_error),
    lastResponse: opt(row.last_response),
    deliveredAt: opt(row.delivered_at),
    replays: row.replays,
    replayedAt: opt(row.replayed_at),
    bodyBytes: row.body_bytes,
    historyBytes: row.history_bytes,
    attemptsDropped: row.attempts_dropped,
  };
}

/**
 * The durable queue: one SQLite file through Node's built-in `node:sqlite`, in WAL mode with
 * `synchronous=FULL`, so a resolved write survives kill -9 and power loss.
 *
 * Every write (enqueue, lease, ack, nack, …) goes through a group commit: writes issued in the same
 * tick run in ONE `BEGIN IMMEDIATE … COMMIT` transaction, committed on `setImmediate` (or as soon as
 * MAX_BATCH are waiting), and each promise settles only after that COMMIT returned. Each write runs
 * inside its own SAVEPOINT, so one that fails (a dedup duplicate) is undone alone and the others
 * commit. The write lock of `BEGIN IMMEDIATE` also makes `lease` atomic across connections: two
 * processes on the same file never lease the same record while its lease is valid.
 *
 * Reads (get, list, stats, nextDue) run directly and see what has been committed.
 */
export class SqliteDriver implements QueueDriver {
  readonly kind = 'sqlite';
  readonly path: string;
  readonly #db: DatabaseSync;
  #batch: PendingWrite[] = [];
  #scheduled = false;
  #closed = false;
  #commits = 0;
  readonly #s: ReturnType<typeof prepareStatements>;
  readonly #listStatements = new Map<string, StatementSync>();
  readonly #keepAttempts: number;

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
      this.#migrate();
      this.#s = prepareStatements(this.#db);
    } catch (error) {
      this.#db.close();
      // "file is not a database", "database is locked", a schema newer than this version…
      throw new QueueOpenError(path, failureReason(error).reason, { cause: error });
    }
  }

  /** Transactions committed by this connection (a test hook: shows that writes are batched). */
  get commits(): number {
    return this.#commits;
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
    const row = this.#db.prepare('SELECT version FROM schema_version').get() as
      | { version: number }
      | undefined;
    return row?.version ?? 0;
  }

  #migrate(): void {
    const db = this.#db;
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
      const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
      const current = row?.version ?? 0;
      if (current > MIGRATIONS.length) {
        throw new Error(
          `queue file ${this.path} has schema version ${current}, newer than this hookrelay understands (${MIGRATIONS.length})`,
        );
      }
      for (let version = current; version < MIGRATIONS.length; version++) {
        db.exec(MIGRATIONS[version] as string);
      }
      if (row === undefined) {
        db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(MIGRATIONS.length);
      } else if (current !== MIGRATIONS.length) {
        db.prepare('UPDATE schema_version SET version = ?').run(MIGRATIONS.length);
      }
      db.exec('COMMIT');
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw error;
    }
  }

  /** Queues a write for the next group commit; settles after COMMIT. */
  #write<T>(run: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('queue is closed'));
    return new Promise<T>((resolve, reject) => {
      this.#batch.push({ run, resolve: resolve as (value: unknown) => void, reject });
      if (this.#batch.length >= MAX_BATCH) this.#flush();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          this.#flush();
        });
      }
    });
  }

  #flush(): void {
    const batch = this.#batch;
    if (batch.length === 0) return;
    this.#batch = [];
    const s = this.#s;
    const settled: Settled[] = [];
    try {
      s.begin.run();
      for (const write of batch) settled.push(this.#runOne(write));
      s.commit.run();
      this.#commits += 1;
    } catch (error) {
      // BEGIN (busy past the timeout), a savepoint or COMMIT failed, or SQLite rolled the whole
      // transaction back (I/O error, disk full): nothing of this batch is durable.
      if (this.#db.isTransaction) {
        try {
          s.rollback.run();
        } catch {
          // nothing more to undo: every write is rejected below
        }
      }
      for (const write of batch) write.reject(error);
      return;
    }
    for (let i = 0; i < batch.length; i++) {
      const result = settled[i] as Settled;
      const write = batch[i] as PendingWrite;
      if (result.ok) write.resolve(result.value);
      else write.reject(result.error);
    }
  }

  /** Runs one write in its own savepoint: when it throws, only its changes are undone. */
  #runOne(write: PendingWrite): Settled {
    const s = this.#s;
    s.savepoint.run();
    let value: unknown;
    try {
      value = write.run();
    } catch (error) {
      if (!this.#db.isTransaction) throw error;
      s.rollbackTo.run();
      s.releaseSavepoint.run();
      return { ok: false, error };
    }
    s.releaseSavepoint.run();
    return { ok: true, value };
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
      const { request } = delivery;
      s.insert.run(
        delivery.id,
        delivery.routeId,
        delivery.requestId,
        request.method,
        request.url,
        JSON.stringify(request.headers),
        nul(request.body),
        request.body?.length ?? 0,
        delivery.createdAt,
        delivery.createdAt,
        delivery.nextAttemptAt,
        delivery.attempts,
        nul(delivery.dedup?.key),
        nul(delivery.dedup?.windowMs),
        request.configHeaders === undefined ? null : JSON.stringify(request.configHeaders),
        request.target === undefined ? null : JSON.stringify(request.target),
      );
    });
  }

  lease(routeId: string, limit: number, leaseMs: number, now: number): Promise<DeliveryRecord[]> {
    limit = Math.floor(limit);
    if (!(limit > 0)) return this.#read(() => []);
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
        ? this.#s.deadAttempt.run(now, result.reason, nul(attempt.status), nul(result.response), id).changes
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
    s.attemptInsert.run(id, attempt.at, attempt.durationMs, nul(attempt.status), nul(attempt.error), bytes);
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

  release(ids: string[]): Promise<void> {
    if (ids.length === 0) return this.#read(() => undefined);
    return this.#write(() => {
      const now = Date.now();
      for (const id of ids) this.#s.release.run(now, id);
    });
  }

  replay(
    selector: { ids: string[] } | { routeId?: string | undefined; status: 'dead' | 'delivered' },
    now: number,
  ): Promise<number> {
    return this.#write(() => {
      if ('ids' in selector) {
        let count = 0;
        for (const id of new Set(selector.ids))
          count += Number(this.#s.replayId.run(now, now, now, id).changes);
        return count;
      }
      const route = nul(selector.routeId);
      return Number(this.#s.replayAll.run(now, now, now, selector.status, route, route).changes);
    });
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
      const attempts = (this.#s.attemptsOf.all(id) as unknown as AttemptRow[]).map(
        (a): AttemptLog => ({
          at: a.at,
          durationMs: a.duration_ms,
          status: opt(a.status),
          error: opt(a.error),
        }),
      );
      return { record: toRecord(row), attempts };
    });
  }

  list(filter: ListFilter): Promise<DeliveryRecord[]> {
    return this.#read(() => {
      const where: string[] = [];
      const params: SQLInputValue[] = [];
      if (filter.routeId !== undefined) {
        where.push('route = ?');
        params.push(filter.routeId);
      }
      if (filter.status !== undefined) {
        where.push('status = ?');
        params.push(filter.status);
      }
      if (filter.olderThan !== undefined) {
        where.push('updated_at < ?');
        params.push(filter.olderThan);
      }
      if (filter.after !== undefined) {
        where.push('id > ?');
        params.push(filter.after);
      }
      params.push(Math.max(0, Math.floor(filter.limit ?? DEFAULT_LIST_LIMIT)));
      // The page's ids first, so only ids are sorted (not whole rows with their bodies).
      const sql = `SELECT * FROM deliveries WHERE id IN (SELECT id FROM deliveries${
        where.length ? ` WHERE ${where.join(' AND ')}` : ''
      } ORDER BY id LIMIT ?) ORDER BY id`;
      let statement = this.#listStatements.get(sql);
      if (!statement) {
        statement = this.#db.prepare(sql);
        this.#listStatements.set(sql, statement);
      }
      return (statement.all(...params) as unknown as DeliveryRow[]).map(toRecord);
    });
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
    this.#flush();
    this.#closed = true;
    this.#db.close();
  }
}

function prepareStatements(db: DatabaseSync) {
  return {
    begin: db.prepare('BEGIN IMMEDIATE'),
    commit: db.prepare('COMMIT'),
    rollback: db.prepare('ROLLBACK'),
    savepoint: db.prepare('SAVEPOINT op'),
    releaseSavepoint: db.prepare('RELEASE op'),
    rollbackTo: db.prepare('ROLLBACK TO op'),
    dedupGet: db.prepare('SELECT delivery_id, expires_at FROM dedup WHERE route = ? AND key = ?'),
    dedupPut: db.prepare(
      `INSERT INTO dedup (route, key, delivery_id, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (route, key) DO UPDATE SET delivery_id = excluded.delivery_id, expires_at = excluded.expires_at`,
    ),
    dedupExpire: db.prepare('DELETE FROM dedup WHERE expires_at <= ?'),
    insert: db.prepare(
      `INSERT INTO deliveries (id, route, request_id, method, url, headers, body, body_bytes, status,
         created_at, updated_at, next_attempt_at, attempts, dedup_key, dedup_window, config_headers, target)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    // Due pending records and expired leases, each side bounded by the limit through its index.
    leaseCandidates: db.prepare(
      `SELECT id FROM (
         SELECT id, next_attempt_at FROM (
           SELECT id, next_attempt_at FROM deliveries
           WHERE route = ? AND status = 'pending' AND next_attempt_at <= ?
           ORDER BY next_attempt_at, id LIMIT ?)
         UNION ALL
         SELECT id, next_attempt_at FROM (
           SELECT id, next_attempt_at FROM deliveries
           WHERE route = ? AND status = 'inflight' AND lease_until <= ?
           ORDER BY next_attempt_at, id LIMIT ?)
       ) ORDER BY next_attempt_at, id LIMIT ?`,
    ),
    leaseOne: db.prepare(
      `UPDATE deliveries SET status = 'inflight', lease_until = ?, updated_at = ? WHERE id = ? RETURNING *`,
    ),
    ack: db.prepare(
      `UPDATE deliveries SET status = 'delivered', lease_until = NULL, updated_at = ?, delivered_at = ?,
         last_status = ?, last_error = NULL, last_response = ?
       WHERE id = ? AND status IN ('pending', 'inflight')`,
    ),
    nack: db.prepare(
      `UPDATE deliveries SET status = 'pending', lease_until = NULL, next_attempt_at = ?, updated_at = ?,
         last_status = ?, last_error = ?, last_response = ?
       WHERE id = ? AND status IN ('pending', 'inflight')`,
    ),
    deadAttempt: db.prepare(
      `UPDATE deliveries SET status = 'dead', lease_until = NULL, updated_at = ?, last_error = ?,
         last_status = ?, last_response = ?
       WHERE id = ? AND status IN ('pending', 'inflight')`,
    ),
    dead: db.prepare(
      `UPDATE deliveries SET status = 'dead', lease_until = NULL, updated_at = ?, last_error = ?,
         last_response = coalesce(?, last_response)
       WHERE id = ? AND status IN ('pending', 'inflight')`,
    ),
    attemptInsert: db.prepare(
      'INSERT INTO attempts (delivery_id, at, duration_ms, status, error, bytes) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    attemptCount: db.prepare(
      'UPDATE deliveries SET attempts = attempts + 1, history_bytes = history_bytes + ? WHERE id = ?',
    ),
    attemptRows: db.prepare('SELECT count(*) AS rows FROM attempts WHERE delivery_id = ?'),
    // The oldest rows after the first one (rowids grow with every insert).
    attemptsBeyond: db.prepare(
      'SELECT rowid, bytes FROM attempts WHERE delivery_id = ? ORDER BY rowid LIMIT ? OFFSET 1',
    ),
    attemptDelete: db.prepare('DELETE FROM attempts WHERE rowid = ?'),
    attemptsDropped: db.prepare(
      `UPDATE deliveries SET attempts_dropped = attempts_dropped + ?, history_bytes = history_bytes - ?
       WHERE id = ?`,
    ),
    release: db.prepare(
      `UPDATE deliveries SET status = 'pending', lease_until = NULL, updated_at = ? WHERE id = ? AND status = 'inflight'`,
    ),
    replayId: db.prepare(
      `UPDATE deliveries SET status = 'pending', attempts = 0, replays = replays + 1, replayed_at = ?, next_attempt_at = ?,
         lease_until = NULL, delivered_at = NULL, updated_at = ?
       WHERE id = ? AND status IN ('dead', 'delivered')`,
    ),
    replayAll: db.prepare(
      `UPDATE deliveries SET status = 'pending', attempts = 0, replays = replays + 1, replayed_at = ?, next_attempt_at = ?,
         lease_until = NULL, delivered_at = NULL, updated_at = ?
       WHERE status = ? AND (? IS NULL OR route = ?)`,
    ),
    purgeCandidates: db.prepare(
      `SELECT id FROM deliveries WHERE status = ? AND updated_at < ? AND (? IS NULL OR route = ?) LIMIT ?`,
    ),
    attemptsDelete: db.prepare('DELETE FROM attempts WHERE delivery_id = ?'),
    deleteOne: db.prepare('DELETE FROM deliveries WHERE id = ?'),
    countsPrune: db.prepare('DELETE FROM counts WHERE count = 0'),
    get: db.prepare('SELECT * FROM deliveries WHERE id = ?'),
    attemptsOf: db.prepare(
      'SELECT at, duration_ms, status, error FROM attempts WHERE delivery_id = ? ORDER BY rowid',
    ),
    counts: db.prepare('SELECT route, status, count, bytes FROM counts WHERE count > 0'),
    oldest: db.prepare('SELECT min(created_at) AS oldest FROM deliveries WHERE route = ? AND status = ?'),
    nextPending: db.prepare(
      `SELECT min(next_attempt_at) AS due FROM deliveries WHERE route = ? AND status = 'pending'`,
    ),
    nextLease: db.prepare(
      `SELECT min(lease_until) AS due FROM deliveries WHERE route = ? AND status = 'inflight'`,
    ),
  };
}
