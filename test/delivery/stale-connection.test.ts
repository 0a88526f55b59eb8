import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, sample, startRelay } from '../helpers.ts';

/**
 * A target that drops keep-alive connections after one answer without telling the client (as a
 * target behind a load balancer with a shorter idle timeout, or one that restarted, does): the
 * next request on such a connection is reset before any answer byte. The relay sends it once more
 * on a new connection, independent of the retry policy; a target that resets a *fresh* connection
 * is a real failure and is left to the policy.
 */

interface Dropping {
  url: string;
  /** Requests the target read, and how many of them it reset instead of answering. */
  requests: number;
  resets: number;
  close(): Promise<void>;
}

async function droppingTarget(mode: 'reset' | 'close' | 'always-reset'): Promise<Dropping> {
  const seen = new WeakMap<Socket, number>();
  const state = { requests: 0, resets: 0 };
  const server: Server = createServer((req, res) => {
    const n = (seen.get(req.socket) ?? 0) + 1;
    seen.set(req.socket, n);
    req.resume();
    req.on('end', () => {
      state.requests++;
      if (mode === 'always-reset' || n > 1) {
        state.resets++;
        if (mode === 'close') req.socket.destroy();
        else req.socket.resetAndDestroy();
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
  });
  // Long enough that the client keeps the connection: the target drops it by itself instead.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return state.requests;
    },
    get resets() {
      return state.resets;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let target: Dropping | undefined;
let relay: Relay | undefined;
afterEach(async () => {
  await relay?.close();
  await target?.close();
  relay = undefined;
  target = undefined;
});

const post = (path: string) =>
  fetch(`${relay!.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"n":1}',
  });

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${relay!.url}/metrics`)).text();
  return sample(text, name, labels) ?? 0;
}

describe('a stale keep-alive connection to the target', () => {
  it.each(['reset', 'close'] as const)(
    'that the target %s before answering is retried once on a new connection, with retry.attempts: 1',
    async (mode) => {
      target = await droppingTarget(mode);
      relay = await startRelay(`
routes:
  - id: r
    path: /in
    forward: { url: "${target.url}/hook" }
    retry: { attempts: 1 }
`);
      for (let i = 0; i < 5; i++) {
        const res = await post('/in');
        expect(res.status, `request ${i}`).toBe(200);
        // Idle between calls, so the pooled connection is reused rather than a second one opened.
        await sleep(20);
      }
      // The test is real only when the target did drop reused connections under requests (every
      // other request: a dropped connection's retry goes on a one-off one, the next call opens a new one).
      expect(target.resets).toBeGreaterThanOrEqual(2);
      expect(target.requests).toBe(5 + target.resets);
      expect(await metric('hookrelay_forward_reconnects_total', { route: 'r' })).toBe(target.resets);
      // The dropped exchanges are not attempts: the target never answered them.
      expect(await metric('hookrelay_forward_retries_total', { route: 'r' })).toBe(0);
    },
  );

  it('a fresh connection that is reset is a real failure: the policy decides (502 with one attempt)', async () => {
    target = await droppingTarget('always-reset');
    relay = await startRelay(`
routes:
  - id: r
    path: /in
    forward: { url: "${target.url}/hook" }
    retry: { attempts: 1 }
`);
    const res = await post('/in');
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: string }).error).toBe('HOOKRELAY_ERR_UPSTREAM_UNREACHABLE');
    expect(target.requests).toBe(1);
    expect(await metric('hookrelay_forward_reconnects_total', { route: 'r' })).toBe(0);
  });

  it('queued deliveries are sent again on a new connection too, as one attempt', async () => {
    target = await droppingTarget('reset');
    relay = await startRelay(`
queue: { driver: memory }
admin: { enabled: false }
routes:
  - id: q
    path: /in
    delivery: async
    forward: { url: "${target.url}/hook" }
    queue: { maxAttempts: 1 }
`);
    for (let i = 0; i < 3; i++) {
      expect((await post('/in')).status).toBe(202);
      const deadline = Date.now() + 5_000;
      const delivered = () =>
        metric('hookrelay_queue_deliveries_total', { route: 'q', outcome: 'delivered' });
      while (Date.now() < deadline && (await delivered()) < i + 1) {
        await sleep(20);
      }
      await sleep(20);
    }
    expect(await metric('hookrelay_queue_deliveries_total', { route: 'q', outcome: 'delivered' })).toBe(3);
    expect(await metric('hookrelay_queue_deliveries_total', { route: 'q', outcome: 'dead' })).toBe(0);
    expect(await metric('hookrelay_forward_reconnects_total', { route: 'q' })).toBe(target.resets);
    expect(target.resets).toBeGreaterThanOrEqual(1);
  });
});
