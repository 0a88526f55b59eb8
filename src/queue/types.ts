/**
 * The queue driver contract: every driver (sqlite, memory, later redis) implements it, and one
 * shared contract test suite (test/queue/contract.ts) runs against each. Delivery is
 * at-least-once: a leased record whose lease expires (a crash, a kill -9) is leased again.
 */
import type { TraceCarrier } from '../telemetry/tracing.ts';
import type { RedisSettings } from './redis-settings.ts';

export type DeliveryStatus = 'pending' | 'inflight' | 'delivered' | 'dead';

/** What the target URL of a delivery is rendered from at each attempt (see StoredRequest.target). */
export interface StoredTarget {
  /** Path parameters of the inbound call, the rest below a prefix route under `*`. */
  params: Record<string, string>;
  /** The caller's raw query string, without `?` ('' when none). */
  rawQuery: string;
}

/**
 * The request to send, as prepared by the pipeline (transforms applied). Nothing the route's
 * configuration supplies is stored: credentials and signatures are added at each attempt, header
 * values the configuration fixes (`configHeaders`) are applied from it at each attempt, and the
 * URL is rendered from `target` at each attempt, so rotated secrets take effect and none are on
 * disk. Records written by versions before that have neither field and are sent as stored.
 */
export interface StoredRequest {
  method: string;
  /** Where it goes, for operators, with the configuration's secret values redacted (`target` is used to send). */
  url: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
  /** Names of headers whose values the route's configuration fixes (`forward.headers`, static `headers` steps): not in `headers`. */
  configHeaders?: readonly string[] | undefined;
  target?: StoredTarget | undefined;
}

export interface NewDelivery {
  id: string;
  routeId: string;
  requestId: string;
  request: StoredRequest;
  /** ms since epoch. */
  createdAt: number;
  /** When the first attempt may run (normally createdAt; later for a hybrid hand-off after a retryable failure). */
  nextAttemptAt: number;
  /** Attempts already made before enqueueing (hybrid mode), counted toward maxAttempts. */
  attempts: number;
  /** When the route deduplicates: the webhook's id and how long it is remembered. */
  dedup?: { key: string; windowMs: number } | undefined;
  /**
   * The accepting request's span context when tracing was on: each queued attempt is a new trace
   * whose span links to it (telemetry/tracing.ts). Stored by every driver (redis: in the job's data) and carried by `restore`.
   */
  trace?: TraceCarrier | undefined;
}

export interface DeliveryRecord extends NewDelivery {
  status: DeliveryStatus;
  /** Lease expiry (ms since epoch) while inflight. */
  leaseUntil: number | undefined;
  updatedAt: number;
  lastStatus: number | undefined;
  lastError: string | undefined;
  /**
   * The error code of the last attempt that threw one (a HookrelayError's, e.g.
   * HOOKRELAY_ERR_UPSTREAM_TIMEOUT); undefined after an answer (see lastStatus). A dead letter
   * for another reason (maxAge) keeps the code of its last attempt.
   */
  lastCode: string | undefined;
  /** First bytes of the last response body, for operators. */
  lastResponse: string | undefined;
  deliveredAt: number | undefined;
  /** How many times an operator replayed it. */
  replays: number;
  /** When it was last replayed (ms since epoch): maxAge counts from here, not from createdAt. */
  replayedAt: number | undefined;
  bodyBytes: number;
  /** Bytes of the kept attempt history (see `attemptBytes`); with `bodyBytes`, what the delivery counts in stats. */
  historyBytes: number;
  /** Attempts dropped from the history (those between the first and the last `keepAttempts`). */
  attemptsDropped: number;
}

export interface AttemptLog {
  at: number;
  durationMs: number;
  status: number | undefined;
  error: string | undefined;
  /** The error code when the attempt threw (HOOKRELAY_ERR_UPSTREAM_TIMEOUT, …UNREACHABLE, …). */
  code?: string | undefined;
  /** The attempt's span (tracing on): its trace id (32 hex digits) and span id (16). */
  traceId?: string | undefined;
  spanId?: string | undefined;
}

/** Attempts kept after the first when the driver is not told otherwise (the default of `queue.keepAttempts`). */
export const DEFAULT_KEEP_ATTEMPTS = 20;

/** What a kept attempt counts toward a delivery's bytes: its error text, its trace ids and a fixed share for the row. */
export const ATTEMPT_ROW_BYTES = 64;

export function attemptBytes(attempt: AttemptLog): number {
  return (
    ATTEMPT_ROW_BYTES +
    (attempt.error === undefined ? 0 : Buffer.byteLength(attempt.error)) +
    (attempt.traceId?.length ?? 0) +
    (attempt.spanId?.length ?? 0)
  );
}

/**
 * A record read from another store as `restore` writes it: an inflight one pending (no lease), no
 * dedup key, its bytes counted from its body and the history given.
 */
export function restoredRecord(record: DeliveryRecord, attempts: readonly AttemptLog[]): DeliveryRecord {
  return {
    ...record,
    status: record.status === 'inflight' ? 'pending' : record.status,
    leaseUntil: undefined,
    dedup: undefined,
    bodyBytes: record.request.body?.length ?? 0,
    historyBytes: attempts.reduce((sum, attempt) => sum + attemptBytes(attempt), 0),
  };
}

/** The number of attempts kept after the first, from the options; at least 1. */
export function keepAttemptsOf(options: DriverOptions): number {
  const keep = options.keepAttempts ?? DEFAULT_KEEP_ATTEMPTS;
  if (!Number.isInteger(keep) || keep < 1)
    throw new RangeError(`keepAttempts must be an integer >= 1, got ${keep}`);
  return keep;
}

export interface DriverOptions {
  /** A delivery's history keeps its first attempt and the last `keepAttempts`; those between are dropped and counted. */
  keepAttempts?: number | undefined;
}

/** Which deliveries a list, count or bulk replay takes: every field given must hold. */
export interface DeliveryFilter {
  routeId?: string | undefined;
  status?: DeliveryStatus | undefined;
  /** The last attempt's error code (`lastCode`), e.g. HOOKRELAY_ERR_UPSTREAM_TIMEOUT. */
  code?: string | undefined;
  /** The last attempt's HTTP status (`lastStatus`). */
  lastStatus?: number | undefined;
  /** createdAt >= since (ms since epoch): when the webhook was accepted. */
  since?: number | undefined;
  /** createdAt < until (ms since epoch). */
  until?: number | undefined;
}

/** What `replay` takes besides ids: a filter on dead or delivered records, at most `limit` of them (oldest first). */
export type ReplayFilter = DeliveryFilter & { status: 'dead' | 'delivered'; limit?: number | undefined };

/** Whether a record matches every field given of the filter (the drivers that filter in process). */
export function matchesFilter(record: DeliveryRecord, filter: DeliveryFilter): boolean {
  return (
    (filter.routeId === undefined || record.routeId === filter.routeId) &&
    (filter.status === undefined || record.status === filter.status) &&
    (filter.code === undefined || record.lastCode === filter.code) &&
    (filter.lastStatus === undefined || record.lastStatus === filter.lastStatus) &&
    (filter.since === undefined || record.createdAt >= filter.since) &&
    (filter.until === undefined || record.createdAt < filter.until)
  );
}

/** Oldest first: by createdAt, then id (the order in which a filtered replay takes records). */
export function oldestFirst(a: DeliveryRecord, b: DeliveryRecord): number {
  return a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export interface ListFilter extends DeliveryFilter {
  /** Only records last updated before this time (ms since epoch). */
  olderThan?: number | undefined;
  limit?: number | undefined;
  /** Records with id > after, for paging (ids sort by creation time). */
  after?: string | undefined;
}

export interface QueueStats {
  /** Count and bytes (body plus kept attempt history) by route and status. */
  byRoute: Record<string, Record<DeliveryStatus, { count: number; bytes: number }>>;
  /** createdAt of the oldest pending or inflight record per route. */
  oldestPending: Record<string, number | undefined>;
}

export interface QueueDriver {
  readonly kind: string;
  /** Durable when the promise resolves (sqlite: committed and fsync'd, batched with concurrent calls).
   * Rejects with DuplicateDelivery (carrying the first delivery's id) when `dedup.key` was accepted
   * for the same route within `dedup.windowMs`; the check and the insert are one transaction. */
  enqueue(delivery: NewDelivery): Promise<void>;
  /** Leases up to `limit` due pending records of a route (nextAttemptAt <= now), oldest due first,
   * plus inflight records whose lease expired; marks them inflight until now + leaseMs. */
  lease(routeId: string, limit: number, leaseMs: number, now: number): Promise<DeliveryRecord[]>;
  /** Marks delivered. ack, nack and dead append the attempt to the history, then keep only its
   * first entry and the last `keepAttempts`, counting the dropped ones. */
  ack(
    id: string,
    result: { status: number; response: string | undefined; attempt: AttemptLog },
  ): Promise<void>;
  /** Back to pending, to be retried at nextAttemptAt. */
  nack(
    id: string,
    result: { nextAttemptAt: number; attempt: AttemptLog; response?: string | undefined },
  ): Promise<void>;
  /** Exhausted or permanently refused: kept as dead for inspection and replay. */
  dead(
    id: string,
    result: { reason: string; attempt?: AttemptLog | undefined; response?: string | undefined },
  ): Promise<void>;
  /**
   * Writes a record exactly as read from another store (`hookrelay deliveries migrate`): the same
   * id, route, request (body bytes included), times, attempt count and history, last result,
   * replays and status, durable when it resolves. An `inflight` record is restored `pending`, due
   * at its nextAttemptAt (its lease belonged to a process that stopped). Its dedup key is not
   * carried over (the restored record has none). Returns 'exists', changing nothing, when a
   * delivery with that id is already stored, so a rerun never duplicates.
   */
  restore(record: DeliveryRecord, attempts: AttemptLog[]): Promise<'restored' | 'exists'>;
  /** Returns inflight records to pending without counting an attempt (graceful shutdown). */
  release(ids: string[]): Promise<void>;
  /**
   * Makes dead (or delivered) records pending again, due now, attempts reset; returns how many.
   * By ids, or by a filter: every matching record, or at most `limit` of them, oldest (createdAt)
   * first, so a caller can replay in batches and report progress.
   */
  replay(selector: { ids: string[] } | ReplayFilter, now: number): Promise<number>;
  /** How many records match the filter (what a replay by the same filter would take). */
  count(filter: DeliveryFilter): Promise<number>;
  /** Deletes records matching the filter (status required); returns how many. */
  purge(filter: { status: DeliveryStatus; routeId?: string | undefined; olderThan: number }): Promise<number>;
  get(id: string): Promise<{ record: DeliveryRecord; attempts: AttemptLog[] } | undefined>;
  list(filter: ListFilter): Promise<DeliveryRecord[]>;
  stats(): Promise<QueueStats>;
  /** When the next pending record of the route becomes due or the earliest lease of an inflight one
   * expires, if any (lets workers sleep exactly, and pick up a crashed worker's records on time). */
  nextDue(routeId: string): Promise<number | undefined>;
  close(): Promise<void>;
  /** Limits that hold across every instance sharing the store (redis): at most `concurrency`
   * records of the route inflight at once, at most `rateLimit` leased per second. An undefined
   * limit removes it. Drivers of one process' store do not need it (the route loop limits). */
  configureRoute?(routeId: string, limits: RouteLimits): Promise<void>;
  /**
   * Whether the store is reachable now (a networked store's connection), for the readiness probe;
   * `rebuilds` counts the connections and checks its watchdog rebuilt since start.
   */
  readiness?(): { ready: boolean; reason?: string; rebuilds?: number };
}

export interface RouteLimits {
  concurrency?: number | undefined;
  /** Per second. */
  rateLimit?: number | undefined;
}

export class DuplicateDelivery extends Error {
  readonly existingId: string;
  constructor(existingId: string) {
    super(`duplicate of delivery ${existingId}`);
    this.name = 'DuplicateDelivery';
    this.existingId = existingId;
  }
}

/** The `queue` section as the queue reads it (config/ validates and fills it). */
export interface QueueSettings {
  /** The redis driver's connection (`queue.redis`). */
  redis?: RedisSettings | undefined;
  /** A registered driver's type (queue/index.ts). */
  driver: string;
  /** The sqlite driver's file. */
  path: string;
  keepAttempts: number;
  /** Across all routes. */
  maxPending: number;
  maxPendingBytes: number;
  retention: { delivered: number; dead: number };
}
