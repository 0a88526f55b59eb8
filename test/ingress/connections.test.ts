import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { adminMaxConnections, autoMaxConnections } from '../../src/ingress/connections.ts';
import { resolveLimits } from '../../src/ingress/limits.ts';
import { DEFAULT_LIMITS } from '../../src/ingress/server.ts';
import { type Relay, sample, startRelay, startTarget, type Target } from '../helpers.ts';
import { type RawConnection, rawConnect, within } from '../support/raw-http.ts';

/**
 * Connections before any request: one that never sends a byte is closed after
 * `server.firstByteTimeout` (without an answer: nothing was asked), open connections are capped in
 * all and per client address, and every drop is counted and logged at most every 10 s. Idle
 * keep-alive connections between requests are `keepAliveTimeout`'s, not this bound's.
 */

let target: Target | undefined;
let relay: Relay | undefined;
const connections: RawConnection[] = [];
afterEach(async () => {
  for (const conn of connections.splice(0)) conn.destroy();
  await relay?.close();
  await target?.close();
  relay = undefined;
  target = undefined;
});

async function setup(server: string, top = '') {
  target = await startTarget();
  relay = await startRelay(`
server:
${server}
${top}
routes:
  - id: r
    path: /in
    forward: { url: "${target.url}/hook" }
`);
  return { port: Number(new URL(relay.url).port), relay };
}

function open(port: number, localAddress?: string): RawConnection {
  const conn = rawConnect(port, localAddress ? { localAddress } : {});
  connections.push(conn);
  return conn;
}

const request = 'POST /in HTTP/1.1\r\nHost: relay\r\nContent-Length: 2\r\n\r\n{}';

async function metricsText(): Promise<string> {
  return (await fetch(`${relay!.url}/metrics`)).text();
}

/** The metrics without a connection of their own (for tests that fill the listener). */
function registryText(): Promise<string> {
  return relay!.app.metrics.registry.metrics();
}

const dropLines = (reason: string) =>
  relay!.logs.filter((l) => l.msg === 'connections dropped' && l.reason === reason);

describe('server.firstByteTimeout', () => {
  it('with the defaults, a connection that sends nothing is closed without an answer, counted and logged', async () => {
    const { port } = await setup('  port: 0');
    const silent = open(port);
    await silent.connected;
    const ending = await within(silent.ended, 15_000, { how: 'still open' as const });
    expect(ending.how).toBe('end');
    expect(ending).toMatchObject({ received: 0 });
    const text = await metricsText();
    expect(
      sample(text, 'hookrelay_http_connections_dropped_total', {
        listener: 'main',
        reason: 'first_byte_timeout',
      }),
    ).toBe(1);
    // Not a request: no 408, no request line.
    expect(sample(text, 'hookrelay_http_client_errors_total', { reason: 'headers_timeout' })).toBe(0);
    expect(dropLines('first_byte_timeout')).toEqual([
      expect.objectContaining({ level: 'warn', listener: 'main', count: 1, timeout: 5_000 }),
    ]);
  });

  it('many silent connections: each is closed, the log says how many in one line', async () => {
    const { port } = await setup('  firstByteTimeout: 200ms');
    const silent = Array.from({ length: 30 }, () => open(port));
    const endings = await Promise.all(
      silent.map((c) => within(c.ended, 8_000, { how: 'still open' as const })),
    );
    expect(endings.every((e) => e.how === 'end')).toBe(true);
    const text = await metricsText();
    expect(
      sample(text, 'hookrelay_http_connections_dropped_total', {
        listener: 'main',
        reason: 'first_byte_timeout',
      }),
    ).toBe(30);
    const lines = dropLines('first_byte_timeout');
    expect(lines.length).toBeLessThanOrEqual(2);
    expect(lines[0]).toMatchObject({ count: 1 });
  });

  it('a connection that sent a byte is the header timeout’s: 408, not a silent close', async () => {
    const { port } = await setup('  firstByteTimeout: 200ms\n  headersTimeout: 1s');
    const slow = open(port);
    await slow.connected;
    await slow.write('P');
    const answer = await slow.response(0);
    expect(answer.status).toBe(408);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'HOOKRELAY_ERR_REQUEST_TIMEOUT' });
    const text = await metricsText();
    expect(
      sample(text, 'hookrelay_http_connections_dropped_total', {
        listener: 'main',
        reason: 'first_byte_timeout',
      }),
    ).toBe(0);
  });

  it('an idle keep-alive connection between requests is kept (keepAliveTimeout applies)', async () => {
    const { port } = await setup('  firstByteTimeout: 100ms\n  headersTimeout: 200ms');
    const conn = open(port);
    await conn.connected;
    await conn.write(request);
    expect((await conn.response(0)).status).toBe(200);
    // Idle for several times the first-byte bound.
    await new Promise((r) => setTimeout(r, 700));
    await conn.write(request);
    const second = await conn.response(1);
    expect(second.status).toBe(200);
    expect(second.headers.connection).toBe('keep-alive');
  });

  it('is at most headersTimeout, which Node starts when a connection is accepted', () => {
    const config = parseConfig(
      'server: { headersTimeout: 2s }\nroutes: [{ id: a, path: /a, echo: true }]',
      'c.yaml',
    );
    expect(config.server.firstByteTimeout).toBe(5_000);
    expect(resolveLimits(config.server).firstByteTimeout).toBe(2_000);
  });
});

describe('server.maxConnections and server.perClient.maxConnections', () => {
  it('beyond maxConnections a new connection is closed at once; counted, logged once per window', async () => {
    const { port } = await setup(
      '  maxConnections: 5\n  firstByteTimeout: 10s\n  perClient: { maxConnections: 0 }',
    );
    const held = Array.from({ length: 5 }, () => open(port, '127.0.0.2'));
    await Promise.all(held.map((c) => c.connected));
    await until(
      async () => sample(await registryText(), 'hookrelay_http_connections_open', { listener: 'main' }) === 5,
    );
    const extra = Array.from({ length: 40 }, () => open(port, '127.0.0.2'));
    const endings = await Promise.all(
      extra.map((c) => within(c.ended, 8_000, { how: 'still open' as const })),
    );
    expect(endings.every((e) => e.how !== 'still open' && e.received === 0)).toBe(true);
    const text = await registryText();
    expect(
      sample(text, 'hookrelay_http_connections_dropped_total', {
        listener: 'main',
        reason: 'max_connections',
      }),
    ).toBe(40);
    expect(sample(text, 'hookrelay_http_connections_limit', { listener: 'main' })).toBe(5);
    const lines = dropLines('max_connections');
    expect(lines.length).toBeLessThanOrEqual(2);
    expect(lines[0]).toMatchObject({ count: 1, limit: 5, listener: 'main' });
    // A slot given back is usable at once; the connections held are untouched.
    held[0]!.destroy();
    await until(async () => {
      try {
        return (await fetch(`${relay!.url}/in`, { method: 'POST', body: '{}' })).status === 200;
      } catch {
        return false;
      }
    });
    expect(held.slice(1).every((c) => !c.socket.destroyed)).toBe(true);
  });

  it('one address beyond perClient.maxConnections is refused; other callers are served', async () => {
    const { port } = await setup('  firstByteTimeout: 10s\n  perClient: { maxConnections: 3 }');
    const held = Array.from({ length: 3 }, () => open(port, '127.0.0.2'));
    await Promise.all(held.map((c) => c.connected));
    await until(
      async () => sample(await registryText(), 'hookrelay_http_connections_open', { listener: 'main' }) === 3,
    );
    const fourth = open(port, '127.0.0.2');
    expect((await within(fourth.ended, 8_000, { how: 'still open' as const })).how).not.toBe('still open');
    const ok = await fetch(`${relay!.url}/in`, { method: 'POST', body: '{}' });
    expect(ok.status).toBe(200);
    const text = await metricsText();
    expect(
      sample(text, 'hookrelay_http_connections_dropped_total', {
        listener: 'main',
        reason: 'client_max_connections',
      }),
    ).toBe(1);
    expect(dropLines('client_max_connections')).toEqual([
      expect.objectContaining({ count: 1, limit: 3, client: '127.0.0.2' }),
    ]);
    expect(held.every((c) => !c.socket.destroyed)).toBe(true);
  });

  it('the admin listener closes silent connections too', async () => {
    target = await startTarget();
    relay = await startRelay(`
server: { firstByteTimeout: 200ms }
queue: { driver: memory }
admin: { port: 0 }
routes:
  - id: q
    path: /q
    delivery: async
    forward: { url: "${target.url}/hook" }
`);
    const admin = relay.app.admin!.address() as AddressInfo;
    const silent = open(admin.port);
    expect((await within(silent.ended, 8_000, { how: 'still open' as const })).how).toBe('end');
    expect((await fetch(`http://127.0.0.1:${admin.port}/queue/stats`)).status).toBe(200);
    const text = await metricsText();
    expect(
      sample(text, 'hookrelay_http_connections_dropped_total', {
        listener: 'admin',
        reason: 'first_byte_timeout',
      }),
    ).toBe(1);
    expect(sample(text, 'hookrelay_http_connections_limit', { listener: 'admin' })).toBe(
      adminMaxConnections(),
    );
  });
});

describe('auto limits', () => {
  it('maxConnections: half the open-file limit, at most 10000; a client gets a quarter of each cap', () => {
    expect(autoMaxConnections(256)).toBe(128);
    expect(autoMaxConnections(1024)).toBe(512);
    expect(autoMaxConnections(1_048_576)).toBe(10_000);
    expect(adminMaxConnections(256)).toBe(16);
    expect(adminMaxConnections(1_048_576)).toBe(64);
    const resolved = resolveLimits(DEFAULT_LIMITS, 1024);
    expect(resolved.maxConnections).toBe(512);
    expect(resolved.perClient.maxConnections).toBe(128);
    expect(resolved.perClient.maxConcurrentRequests).toBe(250);
    const explicit = resolveLimits(
      {
        ...DEFAULT_LIMITS,
        maxConnections: 40,
        perClient: { ...DEFAULT_LIMITS.perClient, maxConcurrentRequests: 0 },
      },
      1024,
    );
    expect(explicit.maxConnections).toBe(40);
    expect(explicit.perClient).toMatchObject({ maxConnections: 10, maxConcurrentRequests: 0 });
  });
});

async function until(check: () => boolean | Promise<boolean>, limitMs = 8_000): Promise<void> {
  const deadline = performance.now() + limitMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`condition not reached within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
