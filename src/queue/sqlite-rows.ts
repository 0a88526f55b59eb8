/**
 * Rows of the queue file ↔ the driver contract's records. SQLite has NULL where the contract has
 * `undefined`, snake_case columns, JSON text for headers and the stored target, and a Uint8Array
 * for a BLOB; this is the one place that knows both shapes (the columns are sqlite-migrations.ts').
 */

import type { SQLInputValue } from 'node:sqlite';
import type { TraceCarrier } from '../telemetry/tracing.ts';
import type { AttemptLog, DeliveryRecord, DeliveryStatus, NewDelivery, StoredTarget } from './types.ts';

/** A row of `deliveries`, as `SELECT *` returns it. */
export interface DeliveryRow {
  id: string;
  route: string;
  request_id: string;
  /** Added by migration 9 (or later): JSON of the accepting request's trace context. */
  trace?: string | null;
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
  last_code: string | null;
  last_response: string | null;
  delivered_at: number | null;
  dedup_key: string | null;
  dedup_window: number | null;
  history_bytes: number;
  attempts_dropped: number;
  config_headers: string | null;
  target: string | null;
}

/** A row of `attempts`, as the history query selects it. */
export interface AttemptRow {
  at: number;
  duration_ms: number;
  status: number | null;
  error: string | null;
  code: string | null;
  /** Added by migration 10: the attempt's span (tracing on). */
  trace_id?: string | null;
  span_id?: string | null;
}

/** NULL from a column → the contract's `undefined`. */
export const opt = <T>(value: T | null): T | undefined => (value === null ? undefined : value);
/** The contract's `undefined` → NULL for a statement parameter. */
export const nul = <T>(value: T | undefined): T | null => (value === undefined ? null : value);

export function toRecord(row: DeliveryRow): DeliveryRecord {
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
    ...(typeof row.trace === 'string' ? { trace: JSON.parse(row.trace) as TraceCarrier } : {}),
    status: row.status,
    leaseUntil: opt(row.lease_until),
    updatedAt: row.updated_at,
    lastStatus: opt(row.last_status),
    lastError: opt(row.last_error),
    lastCode: opt(row.last_code),
    lastResponse: opt(row.last_response),
    deliveredAt: opt(row.delivered_at),
    replays: row.replays,
    replayedAt: opt(row.replayed_at),
    bodyBytes: row.body_bytes,
    historyBytes: row.history_bytes,
    attemptsDropped: row.attempts_dropped,
  };
}

export function toAttempt(row: AttemptRow): AttemptLog {
  return {
    at: row.at,
    durationMs: row.duration_ms,
    status: opt(row.status),
    error: opt(row.error),
    code: opt(row.code),
    ...(typeof row.trace_id === 'string' ? { traceId: row.trace_id } : {}),
    ...(typeof row.span_id === 'string' ? { spanId: row.span_id } : {}),
  };
}

/** The parameters of the `attemptInsert` statement (sqlite-statements.ts), in its column order. */
export function attemptParams(id: string, attempt: AttemptLog, bytes: number): SQLInputValue[] {
  return [
    id,
    attempt.at,
    attempt.durationMs,
    nul(attempt.status),
    nul(attempt.error),
    nul(attempt.code),
    bytes,
    nul(attempt.traceId),
    nul(attempt.spanId),
  ];
}

/** The parameters of the `insert` statement (sqlite-statements.ts), in its column order. */
export function insertParams(delivery: NewDelivery): SQLInputValue[] {
  const { request } = delivery;
  return [
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
    delivery.trace === undefined ? null : JSON.stringify(delivery.trace),
  ];
}

/**
 * The parameters of the `restore` statement (sqlite-statements.ts), in its column order, from a
 * record as `restoredRecord` shaped it (no lease, no dedup key).
 */
export function restoreParams(record: DeliveryRecord): SQLInputValue[] {
  const { request } = record;
  return [
    record.id,
    record.routeId,
    record.requestId,
    request.method,
    request.url,
    JSON.stringify(request.headers),
    nul(request.body),
    record.bodyBytes,
    record.status,
    record.createdAt,
    record.updatedAt,
    record.nextAttemptAt,
    record.attempts,
    record.replays,
    nul(record.replayedAt),
    nul(record.lastStatus),
    nul(record.lastError),
    nul(record.lastResponse),
    nul(record.deliveredAt),
    record.historyBytes,
    record.attemptsDropped,
    request.configHeaders === undefined ? null : JSON.stringify(request.configHeaders),
    request.target === undefined ? null : JSON.stringify(request.target),
    nul(record.lastCode),
    record.trace === undefined ? null : JSON.stringify(record.trace),
  ];
}
