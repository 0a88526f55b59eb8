/**
 * Connection-level protection of a listener, before any request exists: a cap on open connections
 * (Node's `server.maxConnections`, which closes the excess as soon as it is accepted), a cap per
 * client address, and a bound on how long a new connection may stay silent. Node's own timers do
 * not cover a connection that never sends a byte: `headersTimeout` starts with the first byte of
 * a request, and `keepAliveTimeout` only after a response. Such sockets would otherwise hold a file
 * descriptor each until the caller lets go, until the process has none left for webhooks, health
 * checks, the admin API or its targets.
 *
 * Every connection costs a Map entry and one `close` listener; nothing runs per request. Silent
 * connections are found by one sweep per listener, which reads the socket's byte count.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../telemetry/log.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import type { ClientTable } from './clients.ts';

export type Listener = 'main' | 'admin';

export interface ConnectionLimits {
  firstByteTimeout: number;
  maxConnections: number;
  /** 0: no per-client cap. */
  perClientMaxConnections: number;
}

const REASONS = ['max_connections', 'client_max_connections', 'first_byte_timeout'] as const;
type Reason = (typeof REASONS)[number];

/** At most one log line per reason and listener in this interval; the lines carry the counts. */
export const DROP_LOG_INTERVAL = 10_000;

/** Upper bound of `maxConnections: auto`, whatever the open-file limit. */
const AUTO_MAX_CONNECTIONS = 10_000;

/** Assumed where the limit cannot be read (not Linux). */
const DEFAULT_OPEN_FILES = 1024;

/** The soft limit on open files of this process (`ulimit -n`, as raised by Node at start). */
export function openFileLimit(): number {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
    if (match) return match[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(match[1]);
  } catch {
    // Not Linux: fall through.
  }
  return DEFAULT_OPEN_FILES;
}

/** `maxConnections: auto`: half the descriptors, the rest left for targets, the queue, the admin API. */
export function autoMaxConnections(openFiles = openFileLimit()): number {
  return Math.max(1, Math.min(AUTO_MAX_CONNECTIONS, Math.floor(openFiles / 2)));
}

/** The admin listener's cap: a few operators and scripts, never a share that starves the main one. */
export function adminMaxConnections(openFiles = openFileLimit()): number {
  return Math.max(8, Math.min(64, Math.floor(openFiles / 16)));
}

/**
 * Applies the connection limits to `server` (the main listener, or the admin one without
 * `clients`): caps, the silent-connection sweep, the open-connections gauge, the drop counter and
 * its rate-limited log line.
 */
export function guardConnections(
  server: Server,
  limits: ConnectionLimits,
  deps: { metrics: Metrics; logger: Logger; listener: Listener; clients?: ClientTable | undefined },
): void {
  const { metrics, listener, clients } = deps;
  const report = new DropReport(deps.logger, listener);
  const dropped = Object.fromEntries(
    REASONS.map((reason) => [reason, metrics.connectionsDropped.labels({ listener, reason })]),
  ) as Record<Reason, { inc(value?: number): void }>;
  // Zero-initialised, so dashboards and rate() see every reason before the first drop.
  for (const reason of REASONS) dropped[reason].inc(0);
  const open = metrics.connectionsOpen.labels({ listener });
  open.set(0);
  metrics.connectionsLimit.set({ listener }, limits.maxConnections);

  server.maxConnections = limits.maxConnections;
  server.on('drop', (data?: { remoteAddress?: string }) => {
    dropped.max_connections.inc();
    report.note('max_connections', { limit: limits.maxConnections, client: data?.remoteAddress });
  });

  // Accepted connections that have not sent a byte yet, oldest first (a Map keeps insertion order).
  const silent = new Map<Socket, number>();
  const perClient = limits.perClientMaxConnections;
  server.on('connection', (socket: Socket) => {
    if (clients) {
      const entry = clients.attach(socket);
      if (entry && perClient > 0 && entry.connections > perClient) {
        clients.detach(socket);
        socket.destroy();
        dropped.client_max_connections.inc();
        report.note('client_max_connections', { limit: perClient, client: socket.remoteAddress });
        return;
      }
    }
    open.inc();
    silent.set(socket, performance.now());
    socket.once('close', () => {
      open.dec();
      silent.delete(socket);
      clients?.detach(socket);
    });
  });

  const timeout = limits.firstByteTimeout;
  const sweep = () => {
    const cutoff = performance.now() - timeout;
    for (const [socket, acceptedAt] of silent) {
      if (acceptedAt > cutoff) break;
      silent.delete(socket);
      // A byte arrived: from here on headersTimeout, then keepAliveTimeout, are Node's to enforce.
      if (socket.bytesRead > 0 || socket.destroyed) continue;
      dropped.first_byte_timeout.inc();
      report.note('first_byte_timeout', { timeout, client: socket.remoteAddress });
      socket.destroy();
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const start = () => {
    timer ??= setInterval(sweep, Math.min(1_000, Math.max(25, Math.floor(timeout / 4)))).unref();
  };
  if (server.listening) start();
  else server.on('listening', start);
  server.on('close', () => {
    clearInterval(timer);
    timer = undefined;
    report.close();
  });
}

/**
 * One log line per reason for the first drop, then at most one per DROP_LOG_INTERVAL carrying the
 * count since the previous line: a flood of dropped connections is visible without a line each.
 */
class DropReport {
  readonly #logger: Logger;
  readonly #listener: Listener;
  readonly #windows = new Map<Reason, { count: number; fields: object; timer: NodeJS.Timeout }>();

  constructor(logger: Logger, listener: Listener) {
    this.#logger = logger;
    this.#listener = listener;
  }

  note(reason: Reason, fields: object): void {
    const window = this.#windows.get(reason);
    if (window) {
      window.count++;
      window.fields = fields;
      return;
    }
    this.#log(reason, 1, fields);
    this.#open(reason);
  }

  close(): void {
    for (const reason of [...this.#windows.keys()]) this.#flush(reason, false);
  }

  #open(reason: Reason): void {
    const timer = setTimeout(() => this.#flush(reason, true), DROP_LOG_INTERVAL).unref();
    this.#windows.set(reason, { count: 0, fields: {}, timer });
  }

  #flush(reason: Reason, reopen: boolean): void {
    const window = this.#windows.get(reason);
    if (!window) return;
    clearTimeout(window.timer);
    this.#windows.delete(reason);
    if (window.count === 0) return;
    this.#log(reason, window.count, window.fields);
    if (reopen) this.#open(reason);
  }

  #log(reason: Reason, count: number, fields: object): void {
    this.#logger.warn({ listener: this.#listener, reason, count, ...fields }, 'connections dropped');
  }
}
