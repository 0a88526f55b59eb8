/**
 * The SQL of the queue driver's operations, prepared once per connection: the fixed statements by
 * name, and the queries whose WHERE clause depends on the filter (list, count, replay by filter),
 * prepared per combination of filters on first use. Queries that could scan are bounded by an
 * index and a LIMIT (the columns and indexes are sqlite-migrations.ts'). The transaction
 * statements are the group commit's (sqlite-commit.ts).
 */
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import { DEFAULT_LIST_LIMIT } from './memory.ts';
import type { DeliveryRow } from './sqlite-rows.ts';
import type { DeliveryFilter, ListFilter, ReplayFilter } from './types.ts';

export type Statements = ReturnType<typeof prepareStatements>;

/** Every fixed statement of the driver, by what it does. */
export function prepareStatements(db: DatabaseSync) {
  return {
    dedupGet: db.prepare('SELECT delivery_id, expires_at FROM dedup WHERE route = ? AND key = ?'),
    dedupPut: db.prepare(
      `INSERT INTO dedup (route, key, delivery_id, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (route, key) DO UPDATE SET delivery_id = excluded.delivery_id, expires_at = excluded.expires_at`,
    ),
    dedupExpire: db.prepare('DELETE FROM dedup WHERE expires_at <= ?'),
    insert: db.prepare(
      `INSERT INTO deliveries (id, route, request_id, method, url, headers, body, body_bytes, status,
         created_at, updated_at, next_attempt_at, attempts, dedup_key, dedup_window, config_headers, target,
         trace)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    // A record read from another store (restore), every column given (restoreParams' order).
    restore: db.prepare(
      `INSERT INTO deliveries (id, route, request_id, method, url, headers, body, body_bytes, status,
         created_at, updated_at, next_attempt_at, lease_until, attempts, replays, replayed_at,
         last_status, last_error, last_response, delivered_at, dedup_key, dedup_window,
         history_bytes, attempts_dropped, config_headers, target, last_code, trace)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?, ?, ?, ?)`,
    ),
    exists: db.prepare('SELECT 1 AS found FROM deliveries WHERE id = ?'),
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
         last_status = ?, last_error = NULL, last_code = NULL, last_response = ?
       WHERE id = ? AND status IN ('pending', 'inflight')`,
    ),
    nack: db.prepare(
      `UPDATE deliveries SET status = 'pending', lease_until = NULL, next_attempt_at = ?, updated_at = ?,
         last_status = ?, last_error = ?, last_code = ?, last_response = ?
       WHERE id = ? AND status IN ('pending', 'inflight')`,
    ),
    deadAttempt: db.prepare(
      `UPDATE deliveries SET status = 'dead', lease_until = NULL, updated_at = ?, last_error = ?,
         last_status = ?, last_code = ?, last_response = ?
       WHERE id = ? AND status IN ('pending', 'inflight')`,
    ),
    dead: db.prepare(
      `UPDATE deliveries SET status = 'dead', lease_until = NULL, updated_at = ?, last_error = ?,
         last_response = coalesce(?, last_response)
       WHERE id = ? AND status IN ('pending', 'inflight')`,
    ),
    attemptInsert: db.prepare(
      `INSERT INTO attempts (delivery_id, at, duration_ms, status, error, code, bytes, trace_id, span_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
    purgeCandidates: db.prepare(
      `SELECT id FROM deliveries WHERE status = ? AND updated_at < ? AND (? IS NULL OR route = ?) LIMIT ?`,
    ),
    attemptsDelete: db.prepare('DELETE FROM attempts WHERE delivery_id = ?'),
    deleteOne: db.prepare('DELETE FROM deliveries WHERE id = ?'),
    countsPrune: db.prepare('DELETE FROM counts WHERE count = 0'),
    get: db.prepare('SELECT * FROM deliveries WHERE id = ?'),
    attemptsOf: db.prepare(
      'SELECT at, duration_ms, status, error, code, trace_id, span_id FROM attempts WHERE delivery_id = ? ORDER BY rowid',
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

/** The WHERE clauses of a filter and their parameters: the SQL names only which fields are given, never their values. */
function where(filter: DeliveryFilter & { olderThan?: number | undefined; after?: string | undefined }): {
  clauses: string[];
  params: SQLInputValue[];
} {
  const clauses: string[] = [];
  const params: SQLInputValue[] = [];
  const add = (clause: string, value: SQLInputValue | undefined) => {
    if (value === undefined) return;
    clauses.push(clause);
    params.push(value);
  };
  add('route = ?', filter.routeId);
  add('status = ?', filter.status);
  add('last_code = ?', filter.code);
  add('last_status = ?', filter.lastStatus);
  add('created_at >= ?', filter.since);
  add('created_at < ?', filter.until);
  add('updated_at < ?', filter.olderThan);
  add('id > ?', filter.after);
  return { clauses, params };
}

const whereSql = (clauses: string[]) => (clauses.length ? ` WHERE ${clauses.join(' AND ')}` : '');

/**
 * The queries whose WHERE clause depends on the filter (list, count, replay by filter): one
 * statement per combination of fields given, prepared on first use, every value a parameter.
 * The route, status and createdAt bounds go through an index (route, status, created_at) or
 * (status, created_at); code and lastStatus are checked on the rows those bound.
 */
export class FilterQueries {
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  rows(filter: ListFilter): DeliveryRow[] {
    const { clauses, params } = where(filter);
    params.push(Math.max(0, Math.floor(filter.limit ?? DEFAULT_LIST_LIMIT)));
    // The page's ids first, so only ids are sorted (not whole rows with their bodies).
    const sql = `SELECT * FROM deliveries WHERE id IN (SELECT id FROM deliveries${whereSql(clauses)} ORDER BY id LIMIT ?) ORDER BY id`;
    return this.#statement(sql).all(...params) as unknown as DeliveryRow[];
  }

  count(filter: DeliveryFilter): number {
    const { clauses, params } = where(filter);
    const sql = `SELECT count(*) AS n FROM deliveries${whereSql(clauses)}`;
    return (this.#statement(sql).get(...params) as { n: number }).n;
  }

  /** Replays the matching records, at most `limit` (oldest first) when given; returns how many. */
  replay(filter: ReplayFilter, now: number): number {
    const { clauses, params } = where(filter);
    const limit = filter.limit === undefined ? -1 : Math.max(0, Math.floor(filter.limit));
    const sql = `UPDATE deliveries SET status = 'pending', attempts = 0, replays = replays + 1, replayed_at = ?,
         next_attempt_at = ?, lease_until = NULL, delivered_at = NULL, updated_at = ?
       WHERE id IN (SELECT id FROM deliveries${whereSql(clauses)} ORDER BY created_at, id LIMIT ?)`;
    return Number(this.#statement(sql).run(now, now, now, ...params, limit).changes);
  }
}
