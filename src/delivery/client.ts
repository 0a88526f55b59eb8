import { Pool } from 'undici';
import type { TlsIdentity } from './tls.ts';

/**
 * One keep-alive connection pool per target origin and TLS identity, created on first use and
 * shared by every route that targets that origin the same way. Routes presenting different client
 * certificates (or trusting different CAs) never share a connection: a pooled TLS session carries
 * the certificate it was opened with.
 */
export interface ClientOptions {
  connections?: number;
  keepAliveTimeout?: number;
}

export class Clients {
  readonly #pools = new Map<string, Pool>();
  readonly #options: Required<ClientOptions>;

  constructor(options: ClientOptions = {}) {
    this.#options = {
      connections: options.connections ?? 128,
      keepAliveTimeout: options.keepAliveTimeout ?? 4_000,
    };
  }

  get(origin: string, connectTimeout: number, tls?: TlsIdentity): Pool {
    const key = tls ? `${origin}|${connectTimeout}|${tls.id}` : `${origin}|${connectTimeout}`;
    let pool = this.#pools.get(key);
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.#options.connections,
        keepAliveTimeout: this.#options.keepAliveTimeout,
        connect: tls ? { ...tls.connect, timeout: connectTimeout } : { timeout: connectTimeout },
        // Our own per-attempt timer bounds the whole exchange; undici's defaults (300 s) would not.
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      this.#pools.set(key, pool);
    }
    return pool;
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((pool) => pool.close().catch(() => pool.destroy())));
  }
}
