/**
 * The queue file's schema, as an append-only list of migrations, and the step that brings an
 * opened file up to date. Entry i brings the file from version i to i + 1; the version lives in
 * the one-row table `schema_version`. Append, never edit: a file written by an older hookrelay
 * replays the entries it lacks, and one written by a newer one is refused rather than misread.
 *
 * History:
 * 1. deliveries, attempts, dedup, and counts kept by triggers (the first durable queue).
 * 2. a bounded attempt history: bytes per attempt row, history_bytes and attempts_dropped per
 *    delivery, counts over body and history together.
 * 3. config_headers and target: what the configuration supplies is no longer stored.
 * 4. the error code of each attempt and the last one per delivery (last_code), and an index for
 *    the filters of list, count and bulk replay across routes (status, created_at).
 *
 * Ids are chosen by the caller and must sort by creation time (e.g. a time-prefixed id such as a
 * ULID or UUIDv7): `list` pages with `after` (id > after) and relies on that order.
 */
import type { DatabaseSync } from 'node:sqlite';

/** Entry i brings the file from version i to i + 1. Append, never edit. */
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
  // 4: the error code of an attempt that threw (HOOKRELAY_ERR_UPSTREAM_TIMEOUT, …), and of the
  // last one per delivery, for filtered lists, counts and replays. NULL on older rows: they match
  // no code. A filter with a route uses deliveries_age (route, status, created_at); one without,
  // this index.
  `
  ALTER TABLE attempts ADD COLUMN code TEXT;
  ALTER TABLE deliveries ADD COLUMN last_code TEXT;
  CREATE INDEX deliveries_created ON deliveries (status, created_at);
  `,
  // The accepting request's trace context (JSON {traceparent, tracestate}), when tracing was on.
  `
  ALTER TABLE deliveries ADD COLUMN trace TEXT;
  `,
  // The trace and span id of each attempt's span (tracing on), so the history meets the traces.
  `
  ALTER TABLE attempts ADD COLUMN trace_id TEXT;
  ALTER TABLE attempts ADD COLUMN span_id TEXT;
  `,
];

/** Runs the migrations the file lacks, in one transaction; throws for a file newer than this code. */
export function migrate(db: DatabaseSync, path: string): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
    const current = row?.version ?? 0;
    if (current > MIGRATIONS.length) {
      throw new Error(
        `queue file ${path} has schema version ${current}, newer than this hookrelay understands (${MIGRATIONS.length})`,
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

/** The schema version of an open file (0 before the first migration). */
export function schemaVersion(db: DatabaseSync): number {
  const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
  return row?.version ?? 0;
}
