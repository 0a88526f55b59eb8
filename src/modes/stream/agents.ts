/**
 * Keep-alive agents for stream routes (node:http, which http-proxy-3 drives), one per target
 * origin and TLS identity.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { TlsIdentity } from '../../delivery/tls.ts';

/** How long an idle kept-alive connection to a target is kept; like the buffered routes' pools. */
const FREE_SOCKET_TIMEOUT = 4_000;

/**
 * One keep-alive agent per target origin and TLS identity for stream routes (node:http, which
 * http-proxy-3 drives). Routes presenting different client certificates never share a connection.
 */
export class StreamAgents {
  readonly #agents = new Map<string, HttpAgent>();

  get(origin: string, tls: TlsIdentity | undefined): HttpAgent {
    const key = tls ? `${origin}|${tls.id}` : origin;
    let agent = this.#agents.get(key);
    if (!agent) {
      const options = { keepAlive: true, timeout: FREE_SOCKET_TIMEOUT, scheduling: 'lifo' as const };
      agent = origin.startsWith('https:')
        ? new HttpsAgent({ ...options, ...tls?.connect })
        : new HttpAgent(options);
      this.#agents.set(key, agent);
    }
    return agent;
  }

  close(): void {
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
  }
}
