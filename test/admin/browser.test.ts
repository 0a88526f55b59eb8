import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { allowedHostNames, hostOf } from '../../src/admin/guard.ts';
import { type App, createApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { newDeliveryId } from '../../src/queue/ids.ts';
import { createLogger } from '../../src/telemetry/log.ts';

/**
 * What a web page in a browser on the relay's host can do to the token-less loopback admin API.
 * The requests below are exactly what a browser sends in each attack, over a real listener:
 * DNS rebinding (the page's own name in Host), a cross-site form or no-cors fetch (text/plain POST,
 * Origin and Sec-Fetch-Site set by the browser), and a CORS preflight.
 */

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function raw(port: number, method: string, path: string, headers: Record<string, string>, body?: string) {
  return new Promise<Answer>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, setHost: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

let app: App | undefined;
afterEach(async () => {
  await app?.stop(500);
  app = undefined;
});

async function start(extra = ''): Promise<{ port: number; dead: string }> {
  const config = parseConfig(
    `
server: { host: 127.0.0.1, port: 0 }
queue: { driver: memory }
admin: { host: 127.0.0.1, port: 0${extra} }
routes:
  - id: orders
    path: /in
    delivery: async
    forward: { url: "http://127.0.0.1:9/never" }
`,
    'browser.yaml',
    { env: {} },
  );
  app = createApp(config, { logger: createLogger('silent') });
  await app.listen(0, '127.0.0.1');
  const port = (app.admin!.address() as AddressInfo).port;
  // A dead letter with a body: what a rebinding page would read, and a replay would re-send.
  const driver = app.queue!.driver;
  const id = newDeliveryId();
  await driver.enqueue({
    id,
    routeId: 'ghost',
    requestId: 'r1',
    request: {
      method: 'POST',
      url: 'http://127.0.0.1:9/x',
      headers: {},
      body: Buffer.from('{"card":"4111"}'),
    },
    createdAt: Date.now(),
    nextAttemptAt: Date.now(),
    attempts: 0,
  });
  await driver.lease('ghost', 1, 30_000, Date.now());
  await driver.dead(id, { reason: 'test' });
  return { port, dead: id };
}

const json = (answer: Answer) => JSON.parse(answer.body) as Record<string, unknown>;

describe('admin API and web pages', () => {
  it('answers its own names', async () => {
    const { port } = await start();
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `[::1]:${port}`,
      'LOCALHOST',
      'localhost.',
    ]) {
      const res = await raw(port, 'GET', '/deliveries?status=dead', { host });
      expect(res.status, host).toBe(200);
      expect(res.body).toContain('"status":"dead"');
    }
  });

  it('DNS rebinding: a request naming another host is refused before anything is read', async () => {
    const { port } = await start();
    for (const host of [
      `evil.example:${port}`,
      'evil.example',
      `127.0.0.1.evil.example:${port}`,
      `[::2]:${port}`,
    ]) {
      const res = await raw(port, 'GET', '/deliveries?status=dead', { host });
      expect(res.status, host).toBe(403);
      expect(json(res).error).toBe('HOOKRELAY_ERR_ADMIN_HOST_NOT_ALLOWED');
      expect(res.body).not.toContain('dead');
    }
    // HTTP/1.0 without a Host header names nothing.
    const none = await raw(port, 'GET', '/queue/stats', {});
    expect(none.status).toBeGreaterThanOrEqual(400);
    expect(none.body).not.toContain('dead');
  });

  it('names listed in admin.allowedHosts are answered (a proxy or a Service in front)', async () => {
    const { port } = await start(', allowedHosts: [hookrelay-admin.ops.svc]');
    expect((await raw(port, 'GET', '/queue/stats', { host: 'hookrelay-admin.ops.svc:9090' })).status).toBe(
      200,
    );
    expect((await raw(port, 'GET', '/queue/stats', { host: 'other.ops.svc' })).status).toBe(403);
  });

  it('a cross-site text/plain POST (a form, or fetch with no-cors) replays nothing', async () => {
    const { port, dead } = await start();
    const body = JSON.stringify({ status: 'dead' });
    // The page cannot set Content-Type: application/json without a preflight; a form sends this.
    const simple = await raw(
      port,
      'POST',
      '/deliveries/replay',
      { host: `127.0.0.1:${port}`, 'content-type': 'text/plain' },
      body,
    );
    expect(simple.status).toBe(415);
    expect(json(simple).error).toBe('HOOKRELAY_ERR_ADMIN_UNSUPPORTED_MEDIA_TYPE');
    const form = await raw(
      port,
      'POST',
      '/deliveries/purge',
      { host: `127.0.0.1:${port}`, 'content-type': 'application/x-www-form-urlencoded' },
      'status=dead&olderThan=0',
    );
    expect(form.status).toBe(415);
    const noType = await raw(port, 'POST', '/deliveries/replay', { host: `127.0.0.1:${port}` }, body);
    expect(noType.status).toBe(415);
    // What the browser adds to a cross-origin request: refused even with a JSON type.
    const crossOrigin: Record<string, string>[] = [
      { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' },
      { origin: `http://localhost:${port + 1}` },
      { origin: 'null' },
      { origin: 'null', 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
    ];
    for (const headers of crossOrigin) {
      const res = await raw(
        port,
        'POST',
        '/deliveries/replay',
        { host: `localhost:${port}`, 'content-type': 'application/json', ...headers },
        body,
      );
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(json(res).error).toBe('HOOKRELAY_ERR_ADMIN_CROSS_ORIGIN');
    }
    const found = await app!.queue!.driver.get(dead);
    expect(found?.record.status).toBe('dead');
    expect(found?.record.replays).toBe(0);
    // A same-origin page (the future console) and curl still work.
    const same = await raw(
      port,
      'POST',
      '/deliveries/replay',
      {
        host: `localhost:${port}`,
        origin: `http://localhost:${port}`,
        'sec-fetch-site': 'same-origin',
        'content-type': 'application/json',
      },
      JSON.stringify({ ids: [dead] }),
    );
    expect(same.status).toBe(200);
    expect(json(same)).toEqual({ replayed: 1, notFound: [] });
  });

  it('sends no CORS headers, and a preflight is not granted', async () => {
    const { port } = await start();
    const preflight = await raw(port, 'OPTIONS', '/deliveries/replay', {
      host: `127.0.0.1:${port}`,
      origin: `http://127.0.0.1:${port}`,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type',
    });
    expect(preflight.status).toBeGreaterThanOrEqual(400);
    const answers = [preflight, await raw(port, 'GET', '/queue/stats', { host: `127.0.0.1:${port}` })];
    for (const answer of answers) {
      for (const name of Object.keys(answer.headers)) expect(name).not.toMatch(/^access-control-/);
    }
  });
});

describe('admin host names', () => {
  it.each([
    ['127.0.0.1:9090', '127.0.0.1'],
    ['Localhost:80', 'localhost'],
    ['[::1]:9090', '::1'],
    ['[::1]', '::1'],
    ['admin.example.', 'admin.example'],
    ['evil.example:9090:1', undefined],
    ['[::1]x', undefined],
    ['a b', undefined],
    ['', undefined],
  ])('Host %j names %j', (header, host) => {
    expect(hostOf(header)).toBe(host);
  });

  it('a loopback listener answers loopback names only; all interfaces adds the machine and its addresses', () => {
    expect([...allowedHostNames({ host: '127.0.0.1' })].sort()).toEqual(['127.0.0.1', '::1', 'localhost']);
    const all = allowedHostNames({ host: '0.0.0.0', allowedHosts: ['Admin.Example'] });
    expect(all.has('localhost')).toBe(true);
    expect(all.has('admin.example')).toBe(true);
    expect(all.has('127.0.0.1')).toBe(true);
    expect([...allowedHostNames({ host: '10.1.2.3' })]).toEqual(['10.1.2.3']);
  });
});
