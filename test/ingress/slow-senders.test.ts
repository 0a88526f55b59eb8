import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, sample, startRelay, startTarget, type Target } from '../helpers.ts';
import { startRawTarget } from '../stream/support.ts';
import { type RawConnection, rawConnect, within } from '../support/raw-http.ts';

/**
 * Slow senders against the request slots: an upload trickled byte by byte stays within
 * `server.requestTimeout` and below `stream.idleTimeout`, yet must neither hold its slot for long
 * (`server.minBodyRate`) nor let one address take every slot (`server.perClient`). Legitimate
 * callers, verified routes, health, metrics and the admin API are served meanwhile.
 */

const targets: { close(): Promise<void> }[] = [];
let relay: Relay | undefined;
const connections: RawConnection[] = [];
afterEach(async () => {
  for (const conn of connections.splice(0)) conn.destroy();
  await relay?.close();
  relay = undefined;
  for (const t of targets.splice(0)) await t.close();
});

async function target(handler?: Parameters<typeof startTarget>[0]): Promise<Target> {
  const t = await startTarget(handler);
  targets.push(t);
  return t;
}

const portOf = (url: string) => Number(new URL(url).port);

/**
 * An upload that declares `length` bytes and sends one every `everyMs` (at most `max` of them,
 * so the loop is bounded), from `localAddress`, until the relay answers or closes.
 */
function trickle(
  port: number,
  path: string,
  options: { length?: number; everyMs: number; max: number; localAddress?: string; headers?: string },
): RawConnection {
  const conn = rawConnect(port, options.localAddress ? { localAddress: options.localAddress } : {});
  connections.push(conn);
  void conn.connected.then(async () => {
    await conn.write(
      `POST ${path} HTTP/1.1\r\nHost: relay\r\nContent-Type: text/plain\r\nContent-Length: ${options.length ?? 1000}\r\n${options.headers ?? ''}\r\n`,
    );
    for (let i = 0; i < options.max && conn.responses.length === 0 && !conn.socket.destroyed; i++) {
      await new Promise((r) => setTimeout(r, options.everyMs));
      await conn.write('a');
    }
  });
  return conn;
}

async function metricsText(): Promise<string> {
  return (await fetch(`${relay!.url}/metrics`)).text();
}

async function until(check: () => boolean | Promise<boolean>, what: string, limitMs = 10_000): Promise<void> {
  const deadline = performance.now() + limitMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`not reached within ${limitMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('slow uploads cannot take every slot', () => {
  it('one address trickling uploads gets its share (429 beyond it); other callers, verified routes included, are served', async () => {
    const t = await target();
    relay = await startRelay(`
server: { maxConcurrentRequests: 8 }
routes:
  - id: r
    path: /in
    forward: { url: "${t.url}/hook" }
  - id: v
    path: /verified
    verify:
      - { type: apiKey, header: X-Api-Key, keys: [k-0123456789abcdef] }
    forward: { url: "${t.url}/verified" }
`);
    const port = portOf(relay.url);
    // As many uploads as there are slots, from one address, 1 byte every 100 ms.
    const slow = Array.from({ length: 8 }, () =>
      trickle(port, '/in', { everyMs: 100, max: 300, localAddress: '127.0.0.2' }),
    );
    await until(async () => {
      const inFlight = sample(await metricsText(), 'hookrelay_requests_in_flight', { route: 'r' }) ?? 0;
      return inFlight + slow.filter((c) => c.responses.length > 0).length === 8;
    }, 'every slow upload held or answered');

    const ok = await fetch(`${relay.url}/in`, { method: 'POST', body: '{"legit":1}' });
    expect(ok.status).toBe(200);
    const verified = await fetch(`${relay.url}/verified`, {
      method: 'POST',
      headers: { 'x-api-key': 'k-0123456789abcdef' },
      body: '{"legit":2}',
    });
    expect(verified.status).toBe(200);
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      expect((await fetch(`${relay.url}${path}`)).status).toBe(200);
    }

    // The slow address holds a quarter of the slots (perClient.maxConcurrentRequests: auto).
    const refused = slow.filter((c) => c.responses.length > 0);
    expect(refused).toHaveLength(6);
    for (const conn of refused) {
      const answer = conn.responses[0]!;
      expect(answer.status).toBe(429);
      expect(answer.headers['retry-after']).toBe('1');
      expect(answer.headers.connection).toBe('close');
      expect(JSON.parse(answer.body)).toMatchObject({ error: 'HOOKRELAY_ERR_TOO_MANY_REQUESTS', route: 'r' });
    }
    const text = await metricsText();
    expect(
      sample(text, 'hookrelay_errors_total', { route: 'r', code: 'HOOKRELAY_ERR_TOO_MANY_REQUESTS' }),
    ).toBe(6);
    expect(sample(text, 'hookrelay_requests_total', { route: 'r', status: '429' })).toBe(6);
    expect(relay.logs.filter((l) => l.msg === 'request' && l.status === 429)).toHaveLength(6);
    expect(t.received.map((r) => r.url)).toEqual(['/hook', '/verified']);
  });

  it('health, metrics, webhooks and the admin API answer while slow uploads hold every slot', async () => {
    const t = await target();
    relay = await startRelay(`
server:
  maxConcurrentRequests: 4
  perClient: { maxConcurrentRequests: 0 }
queue: { driver: memory }
admin: { port: 0 }
routes:
  - id: r
    path: /in
    forward: { url: "${t.url}/hook" }
  - id: q
    path: /queued
    delivery: async
    forward: { url: "${t.url}/queued" }
`);
    const port = portOf(relay.url);
    const slow = Array.from({ length: 4 }, () => trickle(port, '/in', { everyMs: 100, max: 300 }));
    await until(
      async () => sample(await metricsText(), 'hookrelay_requests_in_flight', { route: 'r' }) === 4,
      'every slot held by a slow upload',
    );
    expect((await fetch(`${relay.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${relay.url}/metrics`)).status).toBe(200);
    const admin = relay.app.admin!.address() as AddressInfo;
    expect((await fetch(`http://127.0.0.1:${admin.port}/queue/stats`)).status).toBe(200);
    // Routes are full: a webhook is refused with 503 (retryable), not left hanging.
    const full = await fetch(`${relay.url}/queued`, { method: 'POST', body: '{}' });
    expect(full.status).toBe(503);
    expect(slow.every((c) => c.responses.length === 0)).toBe(true);
  });
});

describe('server.minBodyRate', () => {
  const rate = '  minBodyRate: { bytesPerSecond: 1kb, grace: 300ms }';

  it('a buffered upload trickled below the rate: 408 BODY_TOO_SLOW once the grace is over, nothing forwarded', async () => {
    const t = await target();
    relay = await startRelay(`
server:
  requestTimeout: 60s
${rate}
routes:
  - id: r
    path: /in
    forward: { url: "${t.url}/hook" }
`);
    const conn = trickle(portOf(relay.url), '/in', { everyMs: 50, max: 400 });
    const answer = await conn.response(0);
    expect(answer.status).toBe(408);
    expect(answer.headers.connection).toBe('close');
    const body = JSON.parse(answer.body) as Record<string, unknown>;
    expect(body).toMatchObject({ error: 'HOOKRELAY_ERR_BODY_TOO_SLOW', route: 'r', status: 408 });
    expect(String(body.message)).toContain('server.minBodyRate is 1024 bytes/s');
    expect((await within(conn.ended, 8_000, { how: 'still open' as const })).how).toBe('end');
    expect(t.received).toHaveLength(0);
    const text = await metricsText();
    expect(sample(text, 'hookrelay_http_client_errors_total', { reason: 'body_too_slow' })).toBe(1);
    expect(sample(text, 'hookrelay_errors_total', { route: 'r', code: 'HOOKRELAY_ERR_BODY_TOO_SLOW' })).toBe(
      1,
    );
    expect(sample(text, 'hookrelay_requests_total', { route: 'r', status: '408' })).toBe(1);
    expect(relay.logs.find((l) => l.msg === 'request' && l.status === 408)).toMatchObject({
      route: 'r',
      code: 'HOOKRELAY_ERR_BODY_TOO_SLOW',
    });
  });

  it('a stream upload sending a byte now and then (never idle for stream.idleTimeout) is cut, the upstream request aborted', async () => {
    let aborted!: () => void;
    const upstreamAborted = new Promise<void>((r) => {
      aborted = r;
    });
    const t = await startRawTarget((req, res) => {
      req.resume();
      req.on('close', () => {
        if (!req.complete) aborted();
      });
      req.on('end', () => res.end('complete'));
    });
    targets.push(t);
    relay = await startRelay(`
server:
${rate}
routes:
  - id: files
    path: /files/*
    methods: [POST]
    delivery: stream
    forward: { url: "${t.url}/store" }
    stream: { idleTimeout: 60s }
`);
    const conn = trickle(portOf(relay.url), '/files/a', { everyMs: 100, max: 400 });
    const answer = await conn.response(0);
    expect(answer.status).toBe(408);
    expect(answer.headers.connection).toBe('close');
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'HOOKRELAY_ERR_BODY_TOO_SLOW', route: 'files' });
    await upstreamAborted;
    const text = await metricsText();
    expect(sample(text, 'hookrelay_http_client_errors_total', { reason: 'body_too_slow' })).toBe(1);
  });

  it('a stream upload that stalls after a fast start is cut within a grace period of stalling', async () => {
    const t = await startRawTarget((req, res) => {
      req.resume();
      req.on('end', () => res.end('complete'));
    });
    targets.push(t);
    relay = await startRelay(`
server:
${rate}
routes:
  - id: files
    path: /files/*
    methods: [POST]
    delivery: stream
    forward: { url: "${t.url}/store" }
`);
    const conn = rawConnect(portOf(relay.url));
    connections.push(conn);
    await conn.connected;
    await conn.write(`POST /files/a HTTP/1.1\r\nHost: relay\r\nContent-Length: 10000000\r\n\r\n`);
    await conn.write(Buffer.alloc(256 * 1024, 0x61));
    const answer = await conn.response(0);
    expect(answer.status).toBe(408);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'HOOKRELAY_ERR_BODY_TOO_SLOW' });
  });

  it('a fast upload that a slow stream target holds back is not cut: the relay, not the sender, is behind', async () => {
    let received = 0;
    const t = await startRawTarget(async (req, res) => {
      // ~2.5 MB/s at most: far below the minimum rate asked of the caller.
      for await (const chunk of req) {
        received += (chunk as Buffer).length;
        await new Promise((r) => setTimeout(r, 20));
      }
      res.end(String(received));
    });
    targets.push(t);
    relay = await startRelay(`
server:
  minBodyRate: { bytesPerSecond: 50mb, grace: 300ms }
routes:
  - id: files
    path: /files/*
    methods: [PUT]
    delivery: stream
    forward: { url: "${t.url}/store" }
    limits: { body: 100mb }
`);
    const size = 8 * 1024 * 1024;
    const res = await fetch(`${relay.url}/files/big`, { method: 'PUT', body: Buffer.alloc(size, 0x62) });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(String(size));
    const text = await metricsText();
    expect(sample(text, 'hookrelay_http_client_errors_total', { reason: 'body_too_slow' })).toBe(0);
  });

  it('server.requestTimeout still bounds a buffered upload as a whole, above the minimum rate', async () => {
    const t = await target();
    relay = await startRelay(`
server:
  headersTimeout: 200ms
  requestTimeout: 1s
  minBodyRate: { bytesPerSecond: 100b, grace: 200ms }
routes:
  - id: r
    path: /in
    forward: { url: "${t.url}/hook" }
`);
    const conn = rawConnect(portOf(relay.url));
    connections.push(conn);
    await conn.connected;
    await conn.write('POST /in HTTP/1.1\r\nHost: relay\r\nContent-Length: 1000000\r\n\r\n');
    // 400 bytes/s: above the minimum, far too slow to finish within the request timeout.
    void (async () => {
      for (let i = 0; i < 200 && conn.responses.length === 0 && !conn.socket.destroyed; i++) {
        await conn.write('a'.repeat(20));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const answer = await conn.response(0);
    expect(answer.status).toBe(408);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'HOOKRELAY_ERR_REQUEST_TIMEOUT', route: 'r' });
  });

  it('bytesPerSecond: 0 turns the check off', async () => {
    const t = await target();
    relay = await startRelay(`
server:
  minBodyRate: { bytesPerSecond: 0, grace: 100ms }
routes:
  - id: r
    path: /in
    forward: { url: "${t.url}/hook" }
`);
    const conn = rawConnect(portOf(relay.url));
    connections.push(conn);
    await conn.connected;
    await conn.write('POST /in HTTP/1.1\r\nHost: relay\r\nContent-Length: 10\r\n\r\n');
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 60));
      await conn.write('a');
    }
    const answer = await conn.response(0);
    expect(answer.status).toBe(200);
    expect(t.received[0]!.body.toString()).toBe('aaaaaaaaaa');
  });
});

describe('server.perClient behind a trusted proxy', () => {
  it('requests count against the forwarded address; a forged entry before it changes nothing; connections are not capped', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const t = await target(async (req, res) => {
      if (req.url === '/hold') await held;
      res.end('ok');
    });
    relay = await startRelay(`
server:
  perClient:
    maxConcurrentRequests: 1
    maxConnections: 2
    trustedProxies: [127.0.0.1/32]
routes:
  - id: hold
    path: /hold
    forward: { url: "${t.url}/hold" }
  - id: quick
    path: /quick
    forward: { url: "${t.url}/quick" }
`);
    const via = (path: string, forwardedFor: string) =>
      fetch(`${relay!.url}${path}`, {
        method: 'POST',
        headers: { 'x-forwarded-for': forwardedFor },
        body: '{}',
      });
    const first = via('/hold', '203.0.113.1');
    await until(() => t.received.length === 1, 'the held request at the target');
    // The same caller again, also with a forged entry in front: over its share.
    expect((await via('/quick', '203.0.113.1')).status).toBe(429);
    expect((await via('/quick', '198.51.100.7, 203.0.113.1')).status).toBe(429);
    // Another caller behind the same proxy is served.
    expect((await via('/quick', '203.0.113.2')).status).toBe(200);
    // The proxy's own connections are not capped per client (maxConnections: 2).
    const conns = Array.from({ length: 5 }, () => rawConnect(portOf(relay!.url)));
    connections.push(...conns);
    await Promise.all(conns.map((c) => c.connected));
    for (const conn of conns) await conn.write('GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n');
    for (const conn of conns) expect((await conn.response(0)).status).toBe(200);
    release();
    expect((await first).status).toBe(200);
  });

  it('X-Forwarded-For from an address that is not a trusted proxy is ignored', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const t = await target(async (req, res) => {
      if (req.url === '/hold') await held;
      res.end('ok');
    });
    relay = await startRelay(`
server:
  perClient: { maxConcurrentRequests: 1, trustedProxies: [10.0.0.0/8] }
routes:
  - id: hold
    path: /hold
    forward: { url: "${t.url}/hold" }
`);
    const first = fetch(`${relay.url}/hold`, { method: 'POST', body: '{}' });
    await until(() => t.received.length === 1, 'the held request at the target');
    const forged = await fetch(`${relay.url}/hold`, {
      method: 'POST',
      headers: { 'x-forwarded-for': '203.0.113.9' },
      body: '{}',
    });
    expect(forged.status).toBe(429);
    release();
    expect((await first).status).toBe(200);
  });
});
