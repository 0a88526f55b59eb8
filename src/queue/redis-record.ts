/**
 * A delivery as the redis driver stores it: the data of its BullMQ job (JSON, the body in base64,
 * the kept attempt history inline), and the mapping between that and a DeliveryRecord. The status
 * is not stored: it is the job's BullMQ state (waiting/delayed → pending, active → inflight,
 * completed → delivered, failed → dead), so a state change and the record can never disagree.
 */

import type { TraceCarrier } from '../telemetry/tracing.ts';
import {
  type AttemptLog,
  attemptBytes,
  type DeliveryRecord,
  type DeliveryStatus,
  type NewDelivery,
  type StoredTarget,
} from './types.ts';

/** JSON-safe: optional fields are absent rather than undefined. */
export interface JobData {
  routeId: string;
  requestId: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  /** base64, absent when the request had no body. */
  body?: string;
  configHeaders?: string[];
  target?: StoredTarget;
  createdAt: number;
  nextAttemptAt: number;
  attempts: number;
  dedup?: { key: string; windowMs: number };
  /** The accepting request's trace context (tracing on); absent on jobs written without it. */
  trace?: TraceCarrier;
  leaseUntil?: number;
  updatedAt: number;
  lastStatus?: number;
  lastError?: string;
  /** The last attempt's error code (DeliveryRecord.lastCode); absent on jobs written before it was kept. */
  lastCode?: string;
  lastResponse?: string;
  deliveredAt?: number;
  replays: number;
  replayedAt?: number;
  bodyBytes: number;
  historyBytes: number;
  attemptsDropped: number;
  history: AttemptLog[];
}

export function newJobData(delivery: NewDelivery): JobData {
  const { request } = delivery;
  return strip({
    routeId: delivery.routeId,
    requestId: delivery.requestId,
    method: request.method,
    url: request.url,
    headers: { ...request.headers },
    body: request.body === undefined ? undefined : request.body.toString('base64'),
    configHeaders: request.configHeaders === undefined ? undefined : [...request.configHeaders],
    target: request.target,
    createdAt: delivery.createdAt,
    nextAttemptAt: delivery.nextAttemptAt,
    attempts: delivery.attempts,
    dedup: delivery.dedup,
    trace: delivery.trace,
    updatedAt: delivery.createdAt,
    replays: 0,
    bodyBytes: request.body?.length ?? 0,
    historyBytes: 0,
    attemptsDropped: 0,
    history: [],
  });
}

/** The data of a record read from another store, as `restoredRecord` shaped it (redis-restore.ts). */
export function restoredJobData(record: DeliveryRecord, attempts: readonly AttemptLog[]): JobData {
  const { request } = record;
  return strip({
    routeId: record.routeId,
    requestId: record.requestId,
    method: request.method,
    url: request.url,
    headers: { ...request.headers },
    body: request.body === undefined ? undefined : request.body.toString('base64'),
    configHeaders: request.configHeaders === undefined ? undefined : [...request.configHeaders],
    target: request.target,
    createdAt: record.createdAt,
    nextAttemptAt: record.nextAttemptAt,
    attempts: record.attempts,
    updatedAt: record.updatedAt,
    lastStatus: record.lastStatus,
    lastError: record.lastError,
    lastCode: record.lastCode,
    lastResponse: record.lastResponse,
    deliveredAt: record.deliveredAt,
    replays: record.replays,
    replayedAt: record.replayedAt,
    bodyBytes: record.bodyBytes,
    historyBytes: record.historyBytes,
    attemptsDropped: record.attemptsDropped,
    trace: record.trace === undefined ? undefined : { ...record.trace },
    history: attempts.map((a) => strip({ ...a })),
  });
}

/** Drops undefined fields, so a record survives JSON unchanged. */
export function strip<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export function toRecord(id: string, data: JobData, status: DeliveryStatus): DeliveryRecord {
  return {
    id,
    routeId: data.routeId,
    requestId: data.requestId,
    request: {
      method: data.method,
      url: data.url,
      headers: { ...data.headers },
      body: data.body === undefined ? undefined : Buffer.from(data.body, 'base64'),
      ...(data.configHeaders === undefined ? {} : { configHeaders: [...data.configHeaders] }),
      ...(data.target === undefined
        ? {}
        : { target: { params: { ...data.target.params }, rawQuery: data.target.rawQuery } }),
    },
    createdAt: data.createdAt,
    nextAttemptAt: data.nextAttemptAt,
    attempts: data.attempts,
    dedup: data.dedup === undefined ? undefined : { ...data.dedup },
    ...(data.trace === undefined ? {} : { trace: { ...data.trace } }),
    status,
    leaseUntil: status === 'inflight' ? data.leaseUntil : undefined,
    updatedAt: data.updatedAt,
    lastStatus: data.lastStatus,
    lastError: data.lastError,
    lastCode: data.lastCode,
    lastResponse: data.lastResponse,
    deliveredAt: data.deliveredAt,
    replays: data.replays,
    replayedAt: data.replayedAt,
    bodyBytes: data.bodyBytes,
    historyBytes: data.historyBytes,
    attemptsDropped: data.attemptsDropped,
  };
}

export function attemptsOf(data: JobData): AttemptLog[] {
  return data.history.map((a) => ({
    at: a.at,
    durationMs: a.durationMs,
    status: a.status ?? undefined,
    error: a.error ?? undefined,
    code: a.code ?? undefined,
    traceId: a.traceId ?? undefined,
    spanId: a.spanId ?? undefined,
  }));
}

/** Appends an attempt with the keep rule of every driver: the first and the last `keep`. */
export function withAttempt(data: JobData, attempt: AttemptLog, keep: number): JobData {
  const history = [...data.history, strip({ ...attempt })];
  let historyBytes = data.historyBytes + attemptBytes(attempt);
  let attemptsDropped = data.attemptsDropped;
  while (history.length > keep + 1) {
    const [dropped] = history.splice(1, 1);
    historyBytes -= attemptBytes(dropped!);
    attemptsDropped += 1;
  }
  return { ...data, attempts: data.attempts + 1, history, historyBytes, attemptsDropped };
}
