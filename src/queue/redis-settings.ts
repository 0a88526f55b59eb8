/**
 * How the redis queue driver connects: the `queue.redis` settings as the queue reads them, and the
 * ioredis options built from them. Two kinds of connection: the producer (enqueue) fails fast, so
 * a webhook is never acknowledged unless Redis stored it and a caller never hangs on a dead Redis;
 * the workers' connections retry for ever, as BullMQ requires of them.
 */
import type { RedisOptions } from 'ioredis';

export interface RedisSettings {
  /** `redis://user:pass@host:port/db`, `rediss://…` (TLS) or `unix:///path/to/socket`. */
  url: string;
  /** Prefix of every key (BullMQ's and ours): two deployments on one Redis use two prefixes. */
  prefix: string;
  /** PEM text (config reads the files), for `rediss://`. */
  tls?:
    | {
        ca?: string | undefined;
        cert?: string | undefined;
        key?: string | undefined;
        rejectUnauthorized?: boolean | undefined;
        servername?: string | undefined;
      }
    | undefined;
  /** Sentinel: the url's host is ignored, these are asked for the master named `masterName`. */
  sentinels?: { host: string; port: number }[] | undefined;
  masterName?: string | undefined;
  sentinelPassword?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  /** ms a producer command may take before enqueue rejects. */
  commandTimeout: number;
  /** ms to establish a connection. */
  connectTimeout: number;
  /** Replicas that must acknowledge an enqueue (WAIT), 0 for none. */
  waitReplicas: number;
  /** ms WAIT waits for them. */
  waitTimeout: number;
  /** What to do at start when Redis is configured to lose acknowledged writes. */
  durability: 'warn' | 'refuse';
}

/** The connection part of the settings (url and credentials) as ioredis options, without the role. */
export function connectionOptions(settings: RedisSettings): RedisOptions {
  const url = new URL(settings.url);
  const options: RedisOptions = { connectTimeout: settings.connectTimeout, lazyConnect: false };
  if (url.protocol === 'unix:') {
    options.path = decodeURIComponent(url.pathname);
  } else if (url.protocol === 'redis:' || url.protocol === 'rediss:') {
    options.host = url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
    options.port = url.port === '' ? 6379 : Number(url.port);
    const db = url.pathname.replace(/^\//, '');
    if (db !== '') {
      if (!/^\d+$/.test(db)) throw new Error(`redis url: database must be a number, got '${db}'`);
      options.db = Number(db);
    }
    if (url.protocol === 'rediss:') {
      const tls = settings.tls ?? {};
      options.tls = {
        ...(tls.ca === undefined ? {} : { ca: tls.ca }),
        ...(tls.cert === undefined ? {} : { cert: tls.cert }),
        ...(tls.key === undefined ? {} : { key: tls.key }),
        ...(tls.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: tls.rejectUnauthorized }),
        servername: tls.servername ?? options.host,
      };
    }
  } else {
    throw new Error(`redis url: expected redis://, rediss:// or unix://, got '${url.protocol}//'`);
  }
  // Credentials in the settings win over those in the url (the url may be logged; they are secrets).
  const username = settings.username ?? (url.username === '' ? undefined : decodeURIComponent(url.username));
  const password = settings.password ?? (url.password === '' ? undefined : decodeURIComponent(url.password));
  if (username !== undefined) options.username = username;
  if (password !== undefined) options.password = password;
  if (settings.sentinels !== undefined && settings.sentinels.length > 0) {
    if (settings.masterName === undefined) throw new Error('redis sentinels need masterName');
    options.sentinels = settings.sentinels.map((s) => ({ host: s.host, port: s.port }));
    options.name = settings.masterName;
    if (settings.sentinelPassword !== undefined) options.sentinelPassword = settings.sentinelPassword;
    if (options.tls !== undefined) {
      options.enableTLSForSentinelMode = true;
      options.sentinelTLS = options.tls;
    }
    delete options.host;
    delete options.port;
  }
  return options;
}

/**
 * The producer's connection (enqueue, reads, admin): every command bounded by `commandTimeout`
 * and at most one retry, and no offline queue, so while Redis is down a call rejects at once
 * instead of waiting for a reconnect that may never come.
 */
export function producerOptions(settings: RedisSettings): RedisOptions {
  return {
    ...connectionOptions(settings),
    maxRetriesPerRequest: 1,
    commandTimeout: settings.commandTimeout,
    enableOfflineQueue: false,
  };
}

/** The workers' connection: BullMQ requires `maxRetriesPerRequest: null` (it retries for ever). */
export function workerOptions(settings: RedisSettings): RedisOptions {
  return { ...connectionOptions(settings), maxRetriesPerRequest: null, enableOfflineQueue: true };
}
