/**
 * How a delivery is shown to operators, the same through the admin API and `hookrelay deliveries
 * --json`: timestamps as ISO 8601, absent values as null, and what was stored from the caller's
 * request redacted as `hookrelay try` does. Stored requests never hold the route's credentials
 * (they are added at each attempt), but a caller's `X-Api-Key` or `?token=` would be forwarded as
 * received, so headers and query parameters named like credentials are hidden.
 */
import { carrierIds } from '../core/tracing.ts';
import { parseDuration } from '../core/units.ts';
import type { AttemptLog, DeliveryRecord, DeliveryStatus, QueueStats } from '../queue/types.ts';
import { authorise, REDACTED, shown } from './redact.ts';
import { bodyText } from './render.ts';

export const STATUSES: readonly DeliveryStatus[] = ['pending', 'inflight', 'dead', 'delivered'];

export function isStatus(value: unknown): value is DeliveryStatus {
  return typeof value === 'string' && (STATUSES as readonly string[]).includes(value);
}

export interface DeliverySummary {
  id: string;
  route: string;
  status: DeliveryStatus;
  attempts: number;
  replays: number;
  replayedAt: string | null;
  requestId: string;
  method: string;
  url: string;
  bodyBytes: number;
  createdAt: string;
  updatedAt: string;
  nextAttemptAt: string | null;
  leaseUntil: string | null;
  deliveredAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  /** The last attempt's error code (HOOKRELAY_ERR_UPSTREAM_TIMEOUT, …); null after an answer. */
  lastCode: string | null;
}

export interface DeliveryDetail extends DeliverySummary {
  /** Attempts left out of `attempts` (the history keeps the first one and the last `queue.keepAttempts`). */
  attemptsDropped: number;
  lastResponse: string | null;
  dedupKey: string | null;
  /** The accepting request's trace (tracing on): each attempt is its own trace linked to this span. */
  trace: { traceId: string; spanId: string } | null;
  request: {
    method: string;
    url: string;
    headers: Record<string, string>;
    /** Headers whose values the route's configuration supplies at each attempt (never stored). */
    configHeaders: string[];
    body: string | null;
    bodyEncoding: 'utf8' | 'base64' | null;
  };
}

export interface AttemptView {
  at: string;
  durationMs: number;
  status: number | null;
  error: string | null;
  code: string | null;
  /** The attempt's own trace and span (tracing on), to find it in the tracing system. */
  traceId: string | null;
  spanId: string | null;
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

/** The stored request with credential-like header and query values replaced by `<redacted>`. */
async function redacted(record: DeliveryRecord): Promise<{ url: string; headers: Record<string, string> }> {
  const { method, url, headers, body } = record.request;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Never produced by the pipeline; shown without its query rather than not at all.
    return {
      url: url.replace(/\?.*$/s, '?<redacted>'),
      headers: (await headersOnly(method, headers)).headers,
    };
  }
  const view = shown(await authorise({ method, url: parsed, headers: { ...headers }, body }, undefined));
  // A secret value the accept path redacted is stored as `<redacted>`, which the URL parser encodes.
  return { ...view, url: view.url.replaceAll('%3Credacted%3E', REDACTED) };
}

async function headersOnly(method: string, headers: Record<string, string>) {
  return shown(
    await authorise(
      { method, url: new URL('http://x/'), headers: { ...headers }, body: undefined },
      undefined,
    ),
  );
}

export async function summary(record: DeliveryRecord): Promise<DeliverySummary> {
  return {
    id: record.id,
    route: record.routeId,
    status: record.status,
    attempts: record.attempts,
    replays: record.replays,
    replayedAt: iso(record.replayedAt),
    requestId: record.requestId,
    method: record.request.method,
    url: (await redacted(record)).url,
    bodyBytes: record.bodyBytes,
    createdAt: iso(record.createdAt)!,
    updatedAt: iso(record.updatedAt)!,
    // Only meaningful while the delivery still waits for an attempt.
    nextAttemptAt: record.status === 'pending' ? iso(record.nextAttemptAt) : null,
    leaseUntil: record.status === 'inflight' ? iso(record.leaseUntil) : null,
    deliveredAt: iso(record.deliveredAt),
    lastStatus: record.lastStatus ?? null,
    lastError: record.lastError ?? null,
    lastCode: record.lastCode ?? null,
  };
}

export async function detail(record: DeliveryRecord): Promise<DeliveryDetail> {
  const { url, headers } = await redacted(record);
  const body = record.request.body === undefined ? undefined : bodyText(record.request.body);
  return {
    ...(await summary(record)),
    attemptsDropped: record.attemptsDropped,
    lastResponse: record.lastResponse ?? null,
    dedupKey: record.dedup?.key ?? null,
    trace: carrierIds(record.trace) ?? null,
    request: {
      method: record.request.method,
      url,
      headers,
      configHeaders: [...(record.request.configHeaders ?? [])].sort(),
      body: body?.text ?? null,
      bodyEncoding: body?.encoding ?? null,
    },
  };
}

export function attemptView(attempt: AttemptLog): AttemptView {
  return {
    at: iso(attempt.at)!,
    durationMs: attempt.durationMs,
    status: attempt.status ?? null,
    error: attempt.error ?? null,
    code: attempt.code ?? null,
    traceId: attempt.traceId ?? null,
    spanId: attempt.spanId ?? null,
  };
}

type Counts = Record<DeliveryStatus, { count: number; bytes: number }>;

export interface StatsView {
  routes: Record<string, Counts & { oldestPending: string | null }>;
  totals: Counts;
}

export function statsView(stats: QueueStats): StatsView {
  const empty = (): Counts => ({
    pending: { count: 0, bytes: 0 },
    inflight: { count: 0, bytes: 0 },
    dead: { count: 0, bytes: 0 },
    delivered: { count: 0, bytes: 0 },
  });
  const totals = empty();
  const routes: StatsView['routes'] = {};
  for (const routeId of Object.keys(stats.byRoute).sort()) {
    const counts = empty();
    for (const status of STATUSES) {
      const entry = stats.byRoute[routeId]?.[status];
      if (!entry) continue;
      counts[status] = { count: entry.count, bytes: entry.bytes };
      totals[status].count += entry.count;
      totals[status].bytes += entry.bytes;
    }
    routes[routeId] = { ...counts, oldestPending: iso(stats.oldestPending[routeId]) };
  }
  return { routes, totals };
}

/**
 * A purge age: a duration as in the config (`500ms`, `30m`, `12h`) or whole days (`7d`), which
 * is how retention is usually thought of.
 */
export function parseAge(input: string | number): number {
  if (typeof input === 'string') {
    const days = /^\s*(\d+(?:\.\d+)?)\s*d\s*$/i.exec(input);
    if (days) return parseDuration(Number(days[1]) * 86_400_000);
  }
  return parseDuration(input);
}
