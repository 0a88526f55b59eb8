/**
 * The in-memory queue driver: the same contract as SQLite's, nothing survives a restart. For tests
 * and local trials: it warns at start.
 */
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
  matchesFilter,
  type NewDelivery,
  oldestFirst,
  type QueueDriver,
  type QueueStats,
  type ReplayFilter,
  restoredRecord,
  type StoredRequest,
} from './types.ts';

/** Statuses in the order stats report them. */
export const STATUSES: readonly DeliveryStatus[] = ['pending', 'inflight', 'delivered', 'dead'];

/** Default page size of `list` when no limit is given. */
export const DEFAULT_LIST_LIMIT = 100;

function copyRequest(request: StoredRequest): StoredRequest {
  return {
    method: request.method,
    url: request.url,
    headers: { ...request.headers },
    body: request.body === undefined ? undefined : Buffer.from(request.body),
    ...(request.configHeaders === undefined ? {} : { configHeaders: [...request.configHeaders] }),
    ...(request.target === undefined
      ? {}
      : { target: { params: { ...request.target.params }, rawQuery: request.target.rawQuery } }),
  };
}

function copyRecord(record: DeliveryRecord): DeliveryRecord {
  return {
    ...record,
    request: copyRequest(record.request),
    dedup: record.dedup ? { ...record.dedup } : undefined,
  };
}

/** Whether ack/nack/dead may still change a record: a stale worker must not resurrect a finished one. */
function isOpen(record: DeliveryRecord): boolean {
  return record.status === 'pending' || record.status === 'inflight';
}

/**
 * In-process queue for tests and trials: the same semantics as the sqlite driver, kept in Maps.
 * Nothing survives a restart (the factory warns loudly). Records are copied in and out, so callers
 * can never alter the stored state by mutating what they passed or received.
 */
export class MemoryDriver implements QueueDriver {
  readonly kind = 'memory';
  readonly #records = new Map<string, DeliveryRecord>();
  readonly #attempts = new Map<string, AttemptLog[]>();
  /** route → dedup key → first delivery id and when the key is forgotten. */
  readonly #dedup = new Map<string, Map<string, { id: string; expiresAt: number }>>();
  readonly #keepAttempts: number;
  #closed = false;

  constructor(options: DriverOptions = {}) {
    this.#keepAttempts = keepAttemptsOf(options);
  }

  #check(): void {
    if (this.#closed) throw new Error('queue is closed');
  }

  async enqueue(delivery: NewDelivery): Promise<void> {
    this.#check();
    if (this.#records.has(delivery.id)) throw new Error(`delivery ${delivery.id} already exists`);
    if (delivery.dedup) {
      let keys = this.#dedup.get(delivery.routeId);
      if (!keys) {
        keys = new Map();
        this.#dedup.set(delivery.routeId, keys);
      }
      const existing = keys.get(delivery.dedup.key);
      if (existing && existing.expiresAt > delivery.createdAt) throw new DuplicateDelivery(existing.id);
      keys.set(delivery.dedup.key, {
        id: delivery.id,
        expiresAt: delivery.createdAt + delivery.dedup.windowMs,
      });
    }
    const record: DeliveryRecord = {
      id: delivery.id,
      routeId: delivery.routeId,
      requestId: delivery.requestId,
      request: copyRequest(delivery.request),
      createdAt: delivery.createdAt,
      nextAttemptAt: delivery.nextAttemptAt,
      attempts: delivery.attempts,
      dedup: delivery.dedup ? { ...delivery.dedup } : undefined,
      ...(delivery.trace ? { trace: { ...delivery.trace } } : {}),
      status: 'pending',
      leaseUntil: undefined,
      updatedAt: delivery.createdAt,
      lastStatus: undefined,
      lastError: undefined,
      lastCode: undefined,
      lastResponse: undefined,
      deliveredAt: undefined,
      replays: 0,
      replayedAt: undefined,
      bodyBytes: delivery.request.body?.length ?? 0,
      historyBytes: 0,
      attemptsDropped: 0,
    };
    this.#records.set(record.id, record);
    this.#attempts.set(record.id, []);
  }

  async lease(routeId: string, limit: number, leaseMs: number, now: number): Promise<DeliveryRecord[]> {
    this.#check();
    limit = Math.floor(limit);
    if (!(limit > 0)) return [];
    const due: DeliveryRecord[] = [];
    for (const record of this.#records.values()) {
      if (record.routeId !== routeId) continue;
      if (
        (record.status === 'pending' && record.nextAttemptAt <= now) ||
        (record.status === 'inflight' && (record.leaseUntil ?? 0) <= now)
      ) {
        due.push(record);
      }
    }
    due.sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return due.slice(0, limit).map((record) => {
      record.status = 'inflight';
      record.leaseUntil = now + leaseMs;
      record.updatedAt = now;
      return copyRecord(record);
    });
  }

  #attempt(record: DeliveryRecord, attempt: AttemptLog): void {
    record.attempts += 1;
    const history = this.#attempts.get(record.id);
    if (!history) return;
    history.push({ ...attempt });
    record.historyBytes += attemptBytes(attempt);
    while (history.length > this.#keepAttempts + 1) {
      const [dropped] = history.splice(1, 1);
      record.historyBytes -= attemptBytes(dropped!);
      record.attemptsDropped += 1;
    }
  }

  async ack(
    id: string,
    result: { status: number; response: string | undefined; attempt: AttemptLog },
  ): Promise<void> {
    this.#check();
    const record = this.#records.get(id);
    if (!record || !isOpen(record)) return;
    this.#attempt(record, result.attempt);
    const now = Date.now();
    record.status = 'delivered';
    record.leaseUntil = undefined;
    record.updatedAt = now;
    record.deliveredAt = now;
    record.lastStatus = result.status;
    record.lastError = undefined;
    record.lastCode = undefined;
    record.lastResponse = result.response;
  }

  async nack(
    id: string,
    result: { nextAttemptAt: number; attempt: AttemptLog; response?: string | undefined },
  ): Promise<void> {
    this.#check();
    const record = this.#records.get(id);
    if (!record || !isOpen(record)) return;
    this.#attempt(record, result.attempt);
    record.status = 'pending';
    record.leaseUntil = undefined;
    record.nextAttemptAt = result.nextAttemptAt;
    record.updatedAt = Date.now();
    record.lastStatus = result.attempt.status;
    record.lastError = result.attempt.error;
    record.lastCode = result.attempt.code;
    record.lastResponse = result.response;
  }

  async dead(
    id: string,
    result: { reason: string; attempt?: AttemptLog | undefined; response?: string | undefined },
  ): Promise<void> {
    this.#check();
    const record = this.#records.get(id);
    if (!record || !isOpen(record)) return;
    if (result.attempt) {
      this.#attempt(record, result.attempt);
      record.lastStatus = result.attempt.status;
      record.lastCode = result.attempt.code;
      record.lastResponse = result.response;
    } else if (result.response !== undefined) {
      record.lastResponse = result.response;
    }
    record.status = 'dead';
    record.leaseUntil = undefined;
    record.updatedAt = Date.now();
    record.lastError = result.reason;
  }

  async restore(record: DeliveryRecord, attempts: AttemptLog[]): Promise<'restored' | 'exists'> {
    this.#check();
    if (this.#records.has(record.id)) return 'exists';
    this.#records.set(record.id, copyRecord(restoredRecord(record, attempts)));
    this.#attempts.set(
      record.id,
      attempts.map((a) => ({ ...a })),
    );
    return 'restored';
  }

  async release(ids: string[]): Promise<void> {
    this.#check();
    const now = Date.now();
    for (const id of ids) {
      const record = this.#records.get(id);
      if (record?.status !== 'inflight') continue;
      record.status = 'pending';
      record.leaseUntil = undefined;
      record.updatedAt = now;
    }
  }

  async replay(selector: { ids: string[] } | ReplayFilter, now: number): Promise<number> {
    this.#check();
    let targets: DeliveryRecord[];
    if ('ids' in selector) {
      targets = [];
      for (const id of new Set(selector.ids)) {
        const record = this.#records.get(id);
        if (record && (record.status === 'dead' || record.status === 'delivered')) targets.push(record);
      }
    } else {
      targets = [...this.#records.values()].filter((r) => matchesFilter(r, selector)).sort(oldestFirst);
      if (selector.limit !== undefined) targets = targets.slice(0, Math.max(0, Math.floor(selector.limit)));
    }
    for (const record of targets) {
      record.status = 'pending';
      record.attempts = 0;
      record.replays += 1;
      record.replayedAt = now;
      record.nextAttemptAt = now;
      record.leaseUntil = undefined;
      record.deliveredAt = undefined;
      record.updatedAt = now;
    }
    return targets.length;
  }

  async count(filter: DeliveryFilter): Promise<number> {
    this.#check();
    let count = 0;
    for (const record of this.#records.values()) if (matchesFilter(record, filter)) count += 1;
    return count;
  }

  async purge(filter: {
    status: DeliveryStatus;
    routeId?: string | undefined;
    olderThan: number;
  }): Promise<number> {
    this.#check();
    let count = 0;
    for (const [id, record] of this.#records) {
      if (record.status !== filter.status || record.updatedAt >= filter.olderThan) continue;
      if (filter.routeId !== undefined && record.routeId !== filter.routeId) continue;
      this.#records.delete(id);
      this.#attempts.delete(id);
      count += 1;
    }
    const now = Date.now();
    for (const [route, keys] of this.#dedup) {
      for (const [key, entry] of keys) if (entry.expiresAt <= now) keys.delete(key);
      if (keys.size === 0) this.#dedup.delete(route);
    }
    return count;
  }

  async get(id: string): Promise<{ record: DeliveryRecord; attempts: AttemptLog[] } | undefined> {
    this.#check();
    const record = this.#records.get(id);
    if (!record) return undefined;
    return {
      record: copyRecord(record),
      attempts: (this.#attempts.get(id) ?? []).map((a) => ({ ...a })),
    };
  }

  async list(filter: ListFilter): Promise<DeliveryRecord[]> {
    this.#check();
    const limit = Math.floor(filter.limit ?? DEFAULT_LIST_LIMIT);
    const matches = [...this.#records.values()].filter(
      (r) =>
        matchesFilter(r, filter) &&
        (filter.olderThan === undefined || r.updatedAt < filter.olderThan) &&
        (filter.after === undefined || r.id > filter.after),
    );
    matches.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return matches.slice(0, Math.max(0, limit)).map(copyRecord);
  }

  async stats(): Promise<QueueStats> {
    this.#check();
    const stats: QueueStats = { byRoute: {}, oldestPending: {} };
    for (const record of this.#records.values()) {
      let route = stats.byRoute[record.routeId];
      if (!route) {
        route = emptyRouteStats();
        stats.byRoute[record.routeId] = route;
        stats.oldestPending[record.routeId] = undefined;
      }
      route[record.status].count += 1;
      route[record.status].bytes += record.bodyBytes + record.historyBytes;
      if (record.status === 'pending' || record.status === 'inflight') {
        const oldest = stats.oldestPending[record.routeId];
        if (oldest === undefined || record.createdAt < oldest)
          stats.oldestPending[record.routeId] = record.createdAt;
      }
    }
    return stats;
  }

  async nextDue(routeId: string): Promise<number | undefined> {
    this.#check();
    let next: number | undefined;
    for (const record of this.#records.values()) {
      if (record.routeId !== routeId) continue;
      const due =
        record.status === 'pending'
          ? record.nextAttemptAt
          : record.status === 'inflight'
            ? (record.leaseUntil ?? 0)
            : undefined;
      if (due !== undefined && (next === undefined || due < next)) next = due;
    }
    return next;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}

export function emptyRouteStats(): Record<DeliveryStatus, { count: number; bytes: number }> {
  return {
    pending: { count: 0, bytes: 0 },
    inflight: { count: 0, bytes: 0 },
    delivered: { count: 0, bytes: 0 },
    dead: { count: 0, bytes: 0 },
  };
}
