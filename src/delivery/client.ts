/**
 * One keep-alive connection pool per target origin and TLS identity, created on first use and
 * shared by every route that targets that origin the same way. Routes presenting different client
 * certificates (or trusting different CAs) never share a connection: a pooled TLS session carries
 * the certificate it was opened with.
 */
import { buildConnector, Client, Pool } from 'undici';
import type { TlsIdentity } from './tls.ts';

export interface ClientOptions {
  connections?: number;
  keepAliveTimeout?: number;
}

/** Set on a socket error when the connection had carried an earlier exchange. */
const REUSED = Symbol('hookrelay.reusedConnection');

interface SocketError extends Error {
  code?: string;
  [REUSED]?: boolean;
  /** undici's SocketError carries the socket's counters. */
  socket?: { bytesRead?: number };
}

/**
 * Errors of a connection that closed or was reset under a request: what a keep-alive connection
 * the target has already given up on (its idle timeout, a restart) does to the next request.
 */
const CONNECTION_LOST = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

/**
 * True when `error` (thrown before any byte of the answer arrived) is the loss of a connection that
 * had already carried an exchange: the target closed it while idle, the request never reached it,
 * and one more try on a fresh connection is safe (nginx's `proxy_next_upstream error` on a cached
 * connection). A fresh connection that is reset means the target itself failed: the retry policy
 * decides then.
 */
export function isStaleConnection(error: unknown): boolean {
  let current = error as SocketError | undefined;
  while (current) {
    if (current.code !== undefined && CONNECTION_LOST.has(current.code)) {
      return current[REUSED] === true || (current.socket?.bytesRead ?? 0) > 0;
    }
    current = current.cause as SocketError | undefined;
  }
  return false;
}

/**
 * The connector every pool uses: undici's own, plus an error listener on each socket that runs
 * before undici's and marks the error when the socket had read an earlier answer (bytes read before
 * this request's answer started). Per connection, not per request: nothing on the hot path.
 */
function connector(options: buildConnector.BuildOptions): buildConnector.connector {
  const connect = buildConnector(options);
  return (opts, callback) =>
    connect(opts, (error, socket) => {
      if (socket) {
        socket.on('error', (err: SocketError) => {
          if (socket.bytesRead > 0) err[REUSED] = true;
        });
      }
      (callback as (error: Error | null, socket: unknown) => void)(error, socket);
    });
}

/** A pool to one origin that can also open a one-off connection of the same kind (same TLS identity). */
export class TargetPool extends Pool {
  readonly #origin: string;
  readonly #connect: buildConnector.BuildOptions;

  constructor(origin: string, options: Pool.Options & { connectOptions: buildConnector.BuildOptions }) {
    const { connectOptions, ...rest } = options;
    super(origin, { ...rest, connect: connector(connectOptions) });
    this.#origin = origin;
    this.#connect = connectOptions;
  }

  /** A client on a new connection, for one exchange: close it once the answer is read. */
  fresh(): Client {
    return new Client(this.#origin, {
      connect: connector(this.#connect),
      pipelining: 1,
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }
}

export class Clients {
  readonly #pools = new Map<string, TargetPool>();
  readonly #options: Required<ClientOptions>;

  constructor(options: ClientOptions = {}) {
    this.#options = {
      connections: options.connections ?? 128,
      keepAliveTimeout: options.keepAliveTimeout ?? 4_000,
    };
  }

  /** Pool keys asked for since the last `mark()`: what a sweep keeps. */
  #used = new Set<string>();

  get(origin: string, connectTimeout: number, tls?: TlsIdentity): TargetPool {
    const key = tls ? `${origin}|${connectTimeout}|${tls.id}` : `${origin}|${connectTimeout}`;
    this.#used.add(key);
    let pool = this.#pools.get(key);
    if (!pool) {
      pool = new TargetPool(origin, {
        connections: this.#options.connections,
        keepAliveTimeout: this.#options.keepAliveTimeout,
        connectOptions: tls ? { ...tls.connect, timeout: connectTimeout } : { timeout: connectTimeout },
        // Our own per-attempt timer bounds the whole exchange; undici's defaults (300 s) would not.
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      this.#pools.set(key, pool);
    }
    return pool;
  }

  /**
   * A reload swapped the configuration: returns a sweep that, called once the old configuration's
   * requests are done, closes the pools nothing asked for since this mark (targets that changed
   * or went away). A pool closed that is still wanted is opened again on its next request.
   */
  mark(): () => Promise<number> {
    this.#used = new Set();
    return async () => {
      const stale = [...this.#pools].filter(([key]) => !this.#used.has(key));
      for (const [key] of stale) this.#pools.delete(key);
      await Promise.all(stale.map(([, pool]) => pool.close().catch(() => pool.destroy())));
      return stale.length;
    };
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((pool) => pool.close().catch(() => pool.destroy())));
  }
}
