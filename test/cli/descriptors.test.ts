import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { sample, startTarget, type Target } from '../helpers.ts';
import { type Child, childProcesses } from '../support/child.ts';
import { type RawConnection, rawConnect, within } from '../support/raw-http.ts';

/**
 * The relay as a child process under `ulimit -n 256`, against more idle connections than it has
 * file descriptors. Without a cap every descriptor goes to them and webhooks, /healthz and the
 * admin API all fail; with the caps (server.maxConnections and server.perClient.maxConnections,
 * both `auto`: 128 and 32 here) the excess is closed as it arrives and the relay keeps serving,
 * and connections that stay silent are closed after server.firstByteTimeout.
 */

const children = childProcesses();
afterAll(() => children.removeDir());
const targets: Target[] = [];
const attack: RawConnection[] = [];
afterEach(async () => {
  for (const conn of attack.splice(0)) conn.destroy();
  children.cleanup();
  for (const target of targets.splice(0)) await target.close();
});

const DESCRIPTORS = 256;

async function relay(firstByteTimeout: string): Promise<{ child: Child; adminPort: number }> {
  const target = await startTarget();
  targets.push(target);
  const file = children.writeConfig(`
server: { host: 127.0.0.1, port: 0, firstByteTimeout: ${firstByteTimeout} }
queue: { driver: memory }
admin: { port: 0 }
routes:
  - id: orders
    path: /in/orders
    forward: { url: "${target.url}/hook" }
  - id: queued
    path: /in/queued
    delivery: async
    forward: { url: "${target.url}/queued" }
`);
  const child = await children.start(['start', '-c', file], { ulimit: DESCRIPTORS });
  const admin = await child.waitForLog((log) => log.msg === 'admin API listening');
  return { child, adminPort: admin.port as number };
}

/** Opens `count` connections that never send a byte, from `localAddress`; resolves once each is up or closed. */
async function flood(
  port: number,
  count: number,
  localAddress: (i: number) => string,
): Promise<RawConnection[]> {
  const opened = Array.from({ length: count }, (_, i) => rawConnect(port, { localAddress: localAddress(i) }));
  attack.push(...opened);
  await Promise.all(opened.map((c) => c.connected.catch(() => undefined)));
  return opened;
}

const post = (url: string) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"order":1}' });

/** The relay answers webhooks, health checks and the admin API. */
async function expectServing(child: Child, adminPort: number): Promise<void> {
  expect((await post(`${child.url}/in/orders`)).status).toBe(200);
  expect((await post(`${child.url}/in/queued`)).status).toBe(202);
  expect((await fetch(`${child.url}/healthz`)).status).toBe(200);
  expect((await fetch(`http://127.0.0.1:${adminPort}/queue/stats`)).status).toBe(200);
}

describe(`under ulimit -n ${DESCRIPTORS}`, () => {
  it('more idle connections from one address than descriptors: the excess is closed, everyone else is served', async () => {
    const { child, adminPort } = await relay('10s');
    const idle = await flood(child.port, 400, () => '127.0.0.2');
    // The address keeps its share (a quarter of 128); every other connection was closed at once.
    await until(() => idle.filter((c) => !c.socket.destroyed).length <= 32);
    await expectServing(child, adminPort);
    expect(idle.filter((c) => !c.socket.destroyed)).toHaveLength(32);
    const text = await (await fetch(`${child.url}/metrics`)).text();
    expect(
      sample(text, 'hookrelay_http_connections_dropped_total', {
        listener: 'main',
        reason: 'client_max_connections',
      }),
    ).toBe(368);
    expect(sample(text, 'hookrelay_http_connections_limit', { listener: 'main' })).toBe(128);
    // Logged, but not once per connection.
    const lines = child.logs.filter((l) => l.msg === 'connections dropped');
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines.length).toBeLessThanOrEqual(3);
    expect(child.stderr()).toBe('');
  });

  it('idle connections from many addresses fill the cap: the admin API still answers, then the silent ones are closed and all is served', async () => {
    const { child, adminPort } = await relay('1s');
    // 20 addresses x 20 connections: over maxConnections (128), within each address's share.
    const idle = await flood(child.port, 400, (i) => `127.0.0.${2 + (i % 20)}`);
    // Descriptors are left: the admin listener answers while the main one is full.
    expect((await fetch(`http://127.0.0.1:${adminPort}/queue/stats`)).status).toBe(200);
    const endings = await Promise.all(
      idle.map((c) => within(c.ended, 15_000, { how: 'still open' as const })),
    );
    expect(endings.filter((e) => e.how === 'still open')).toHaveLength(0);
    await expectServing(child, adminPort);
    const text = await (await fetch(`${child.url}/metrics`)).text();
    const dropped = (reason: string) =>
      sample(text, 'hookrelay_http_connections_dropped_total', { listener: 'main', reason }) ?? 0;
    expect(dropped('first_byte_timeout')).toBeGreaterThanOrEqual(100);
    expect(dropped('max_connections')).toBeGreaterThanOrEqual(200);
    expect(dropped('first_byte_timeout') + dropped('max_connections')).toBe(400);
    expect(child.stderr()).toBe('');
  });
});

async function until(check: () => boolean, limitMs = 10_000): Promise<void> {
  const deadline = performance.now() + limitMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`condition not reached within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
