import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAdminServer } from '../../src/admin/server.ts';
import type { AttemptView, DeliveryDetail, DeliverySummary, StatsView } from '../../src/present/view.ts';
import { newDeliveryId } from '../../src/queue/ids.ts';
import { createDriver } from '../../src/queue/index.ts';
import { attemptBytes, type NewDelivery, type QueueDriver } from '../../src/queue/types.ts';
import { createLogger } from '../../src/telemetry/log.ts';

/** The admin API over a real listener, on both drivers (sqlite in a temp dir). */

const dir = mkdtempSync(join(tmpdir(), 'hookrelay-admin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TOKEN = 'admin-token-0123456789abcdef';
const DAY = 86_400_000;

interface Admin {
  url: string;
  driver: QueueDriver;
  logs: Record<string, unknown>[];
  lines: string[];
  replays: string[][];
  close(): Promise<void>;
}

/** Every field any admin answer has; each test reads those of the endpoint it calls. */
interface Answer extends StatsView {
  deliveries: DeliverySummary[];
  next: string | null;
  delivery: DeliveryDetail;
  attempts: AttemptView[];
  replayed: number;
  matched: number;
  count: number;
  purged: number;
  notFound: string[];
  error: string;
  message: string;
}

let counter = 0;

async function startAdmin(kind: 'memory' | 'sqlite', options: { token?: string; now?: () => number } = {}) {
  const lines: string[] = [];
  const logs: Record<string, unknown>[] = [];
  const sink = {
    write(line: string) {
      lines.push(line);
      logs.push(JSON.parse(line) as Record<string, unknown>);
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  const logger = createLogger('info', sink);
  const driver = createDriver(
    {
      driver: kind,
      path: join(dir, `q${++counter}`, 'hookrelay.db'),
      retention: { delivered: 7 * DAY, dead: 30 * DAY },
      maxPending: 1000,
      maxPendingBytes: 1 << 30,
      keepAttempts: 20,
    },
    createLogger('silent'),
  );
  const replays: string[][] = [];
  const server: Server = createAdminServer({
    driver,
    token: options.token,
    logger,
    onReplay: (routes) => replays.push(routes),
    now: options.now,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const admin: Admin = {
    url: `http://127.0.0.1:${port}`,
    driver,
    logs,
    lines,
    replays,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await driver.close();
    },
  };
  return admin;
}

function delivery(
  routeId: string,
  overrides: Partial<NewDelivery['request']> = {},
  at = Date.now(),
): NewDelivery {
  return {
    id: newDeliveryId(at),
    routeId,
    requestId: `req-${routeId}-${at}`,
    request: {
      method: 'POST',
      url: 'https://target.example/orders',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from('{"order":1}'),
      ...overrides,
    },
    createdAt: at,
    nextAttemptAt: at,
    attempts: 0,
  };
}

/** Enqueues, then leases and finishes it as `dead` or `delivered` when asked. */
async function put(
  driver: QueueDriver,
  d: NewDelivery,
  end?: 'dead' | 'delivered' | 'retried',
): Promise<string> {
  await driver.enqueue(d);
  if (!end) return d.id;
  const leased = await driver.lease(d.routeId, 1000, 30_000, Date.now() + 1);
  expect(leased.map((r) => r.id)).toContain(d.id);
  const attempt = { at: Date.now(), durationMs: 12, status: 503, error: 'target answered 503' };
  if (end === 'dead') await driver.dead(d.id, { reason: 'max attempts reached', attempt, response: 'down' });
  else if (end === 'retried') await driver.nack(d.id, { nextAttemptAt: Date.now() + 60_000, attempt });
  else
    await driver.ack(d.id, {
      status: 200,
      response: '{"ok":true}',
      attempt: { ...attempt, status: 200, error: undefined },
    });
  // Other records of the route leased above go back untouched.
  await driver.release(leased.map((r) => r.id).filter((id) => id !== d.id));
  return d.id;
}

async function call(
  admin: Admin,
  method: string,
  path: string,
  body?: unknown,
  token: string | null = TOKEN,
) {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${admin.url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    json: (text ? JSON.parse(text) : {}) as Answer,
  };
}

describe.each(['memory', 'sqlite'] as const)('admin API (%s driver)', (kind) => {
  let admin: Admin;
  beforeEach(async () => {
    admin = await startAdmin(kind, { token: TOKEN });
  });
  afterEach(() => admin.close());

  describe('authentication', () => {
    it('refuses requests without the token: 401 JSON with WWW-Authenticate', async () => {
      for (const token of [null, 'wrong', `${TOKEN}x`, TOKEN.slice(0, -1), '']) {
        const res = await call(admin, 'GET', '/queue/stats', undefined, token);
        expect(res.status).toBe(401);
        expect(res.json).toEqual({
          error: 'HOOKRELAY_ERR_ADMIN_UNAUTHORIZED',
          message: 'missing or wrong admin token',
        });
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
      }
      // Another scheme with the right value is refused too.
      const basic = await fetch(`${admin.url}/queue/stats`, { headers: { authorization: `Basic ${TOKEN}` } });
      expect(basic.status).toBe(401);
    });

    it('answers with the token, and checks it before routing', async () => {
      expect((await call(admin, 'GET', '/queue/stats')).status).toBe(200);
      expect((await call(admin, 'GET', '/no/such/path', undefined, null)).status).toBe(401);
      expect((await call(admin, 'POST', '/deliveries/purge', { status: 'dead' }, null)).status).toBe(401);
    });

    it('logs one line per request and never the token', async () => {
      await call(admin, 'GET', '/queue/stats');
      await call(admin, 'GET', '/deliveries?status=dead', undefined, 'wrong-token-value');
      await call(admin, 'GET', '/deliveries/nope');
      const lines = admin.logs.filter((l) => l.msg === 'admin request');
      expect(lines).toHaveLength(3);
      expect(lines.map((l) => [l.method, l.path, l.status])).toEqual([
        ['GET', '/queue/stats', 200],
        ['GET', '/deliveries', 401],
        ['GET', '/deliveries/nope', 404],
      ]);
      expect(lines[0]).toMatchObject({ level: 'info', admin: true, durationMs: expect.any(Number) });
      for (const line of admin.lines) {
        expect(line).not.toContain(TOKEN);
        expect(line).not.toContain('wrong-token-value');
      }
    });
  });

  describe('GET /deliveries', () => {
    it('lists records without bodies, filtered by route and status, paged by id', async () => {
      const t = Date.now() - 60_000;
      const a1 = await put(admin.driver, delivery('a', {}, t));
      const a2 = await put(admin.driver, delivery('a', {}, t + 1), 'dead');
      const b1 = await put(admin.driver, delivery('b', {}, t + 2));
      const all = await call(admin, 'GET', '/deliveries');
      expect(all.status).toBe(200);
      expect(all.json.deliveries.map((d: { id: string }) => d.id)).toEqual([a1, a2, b1]);
      expect(all.json.next).toBeNull();
      const first = all.json.deliveries[0];
      expect(first).toMatchObject({
        id: a1,
        route: 'a',
        status: 'pending',
        attempts: 0,
        method: 'POST',
        url: 'https://target.example/orders',
        bodyBytes: 11,
        createdAt: new Date(t).toISOString(),
        lastStatus: null,
      });
      expect(first).not.toHaveProperty('request');
      expect(JSON.stringify(all.json)).not.toContain('order":1');

      const routeA = await call(admin, 'GET', '/deliveries?route=a');
      expect(routeA.json.deliveries.map((d: { id: string }) => d.id)).toEqual([a1, a2]);
      const dead = await call(admin, 'GET', '/deliveries?status=dead');
      expect(dead.json.deliveries).toEqual([
        expect.objectContaining({
          id: a2,
          status: 'dead',
          attempts: 1,
          lastStatus: 503,
          lastError: 'max attempts reached',
        }),
      ]);

      const page1 = await call(admin, 'GET', '/deliveries?limit=2');
      expect(page1.json.deliveries.map((d: { id: string }) => d.id)).toEqual([a1, a2]);
      expect(page1.json.next).toBe(a2);
      const page2 = await call(admin, 'GET', `/deliveries?limit=2&after=${page1.json.next}`);
      expect(page2.json.deliveries.map((d: { id: string }) => d.id)).toEqual([b1]);
      expect(page2.json.next).toBeNull();
    });

    it('refuses bad parameters with 400', async () => {
      for (const query of ['status=lost', 'limit=0', 'limit=abc', 'limit=1001', 'limit=-1', 'rout=a']) {
        const res = await call(admin, 'GET', `/deliveries?${query}`);
        expect(res.status, query).toBe(400);
        expect(res.json.error).toBe('HOOKRELAY_ERR_ADMIN_BAD_REQUEST');
        expect(res.json.message).toEqual(expect.any(String));
      }
      expect((await call(admin, 'GET', '/deliveries?rout=a')).json.message).toBe(
        "unknown query parameter 'rout', expected one of: route, status, code, lastStatus, since, until, limit, after",
      );
    });
  });

  describe('GET /deliveries/:id', () => {
    it('shows the record, the body as text, redacted headers and the attempt history', async () => {
      const id = await put(
        admin.driver,
        delivery('a', {
          url: 'https://target.example/orders?token=caller-secret&page=2',
          headers: {
            'content-type': 'application/json',
            authorization: 'Bearer caller-bearer',
            'x-api-key': 'caller-key',
            cookie: 'session=abc',
            'idempotency-key': 'kept-visible',
            'x-event': 'order.created',
          },
        }),
        'retried',
      );
      const res = await call(admin, 'GET', `/deliveries/${id}`);
      expect(res.status).toBe(200);
      const { delivery: d, attempts } = res.json;
      expect(d).toMatchObject({
        id,
        route: 'a',
        status: 'pending',
        attempts: 1,
        lastStatus: 503,
        lastError: 'target answered 503',
        lastCode: null,
        nextAttemptAt: expect.any(String),
      });
      expect(d.request).toEqual({
        method: 'POST',
        url: 'https://target.example/orders?token=<redacted>&page=2',
        headers: {
          authorization: 'Bearer <redacted>',
          'content-type': 'application/json',
          cookie: '<redacted>',
          'idempotency-key': 'kept-visible',
          'x-api-key': '<redacted>',
          'x-event': 'order.created',
        },
        configHeaders: [],
        body: '{"order":1}',
        bodyEncoding: 'utf8',
      });
      expect(d.url).toBe('https://target.example/orders?token=<redacted>&page=2');
      expect(JSON.stringify(res.json)).not.toMatch(/caller-(secret|bearer|key)|session=abc/);
      expect(attempts).toEqual([
        {
          at: expect.any(String),
          durationMs: 12,
          status: 503,
          error: 'target answered 503',
          code: null,
          traceId: null,
          spanId: null,
        },
      ]);
    });

    it('shows a binary body as base64, and no body as null', async () => {
      const bytes = Buffer.from([0xff, 0x00, 0xfe, 0x80]);
      const binary = await put(admin.driver, delivery('a', { body: bytes, headers: {} }));
      const res = await call(admin, 'GET', `/deliveries/${binary}`);
      expect(res.json.delivery.request).toMatchObject({
        body: bytes.toString('base64'),
        bodyEncoding: 'base64',
      });
      const empty = await put(admin.driver, delivery('a', { body: undefined, method: 'GET' }));
      const none = await call(admin, 'GET', `/deliveries/${empty}`);
      expect(none.json.delivery.request).toMatchObject({ method: 'GET', body: null, bodyEncoding: null });
    });

    it('404 for an unknown id', async () => {
      const res = await call(admin, 'GET', '/deliveries/0000000000000000000000000000');
      expect(res.status).toBe(404);
      expect(res.json).toEqual({
        error: 'HOOKRELAY_ERR_ADMIN_NOT_FOUND',
        message: "no delivery '0000000000000000000000000000'",
      });
      expect((await call(admin, 'GET', '/deliveries/%E0%A4%A')).status).toBe(400);
    });
  });

  describe('POST /deliveries/replay', () => {
    it('replays dead deliveries by id, wakes their routes, lists unknown ids', async () => {
      const dead = await put(admin.driver, delivery('a'), 'dead');
      const delivered = await put(admin.driver, delivery('b'), 'delivered');
      const pending = await put(admin.driver, delivery('c'));
      const res = await call(admin, 'POST', '/deliveries/replay', {
        ids: [dead, delivered, pending, 'nope'],
      });
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ replayed: 2, notFound: ['nope'] });
      expect(admin.replays.map((r) => [...r].sort())).toEqual([['a', 'b', 'c']]);
      const record = (await admin.driver.get(dead))!.record;
      expect(record).toMatchObject({ status: 'pending', attempts: 0, replays: 1 });
      expect(record.nextAttemptAt).toBeLessThanOrEqual(Date.now());
    });

    it('replays every dead delivery of a route, or of all routes', async () => {
      const a1 = await put(admin.driver, delivery('a'), 'dead');
      const a2 = await put(admin.driver, delivery('a'), 'dead');
      const b1 = await put(admin.driver, delivery('b'), 'dead');
      await put(admin.driver, delivery('a'), 'delivered');
      const res = await call(admin, 'POST', '/deliveries/replay', { route: 'a', status: 'dead' });
      expect(res.json).toEqual({ replayed: 2 });
      expect(admin.replays).toEqual([['a']]);
      for (const id of [a1, a2]) expect((await admin.driver.get(id))!.record.status).toBe('pending');
      expect((await admin.driver.get(b1))!.record.status).toBe('dead');

      const all = await call(admin, 'POST', '/deliveries/replay', { status: 'dead' });
      expect(all.json).toEqual({ replayed: 1 });
      expect(admin.replays[1]).toContain('b');
      // Nothing to replay: nobody is woken.
      expect((await call(admin, 'POST', '/deliveries/replay', { status: 'dead' })).json).toEqual({
        replayed: 0,
      });
      expect(admin.replays).toHaveLength(2);
    });

    it('refuses bad bodies with 400', async () => {
      const cases: unknown[] = [
        {},
        { ids: [] },
        { ids: 'abc' },
        { ids: [1] },
        { ids: ['a'], status: 'dead' },
        { status: 'pending' },
        { route: 'a' },
        { route: 5, status: 'dead' },
        { status: 'dead', extra: true },
        '[1]',
        'not json',
      ];
      for (const body of cases) {
        const res = await call(admin, 'POST', '/deliveries/replay', body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.json.error).toBe('HOOKRELAY_ERR_ADMIN_BAD_REQUEST');
      }
      expect(admin.replays).toEqual([]);
    });
  });

  describe('filters: code, lastStatus, since, until', () => {
    const TIMEOUT = 'HOOKRELAY_ERR_UPSTREAM_TIMEOUT';
    const t0 = Date.parse('2026-12-03T14:00:00Z');

    /** Dead after one attempt that threw `code` (or answered `status`). */
    async function dead(routeId: string, at: number, failure: { code?: string; status?: number }) {
      const d = delivery(routeId, {}, at);
      await admin.driver.enqueue(d);
      await admin.driver.lease(routeId, 1000, 30_000, Date.now() + 1);
      await admin.driver.dead(d.id, {
        reason: 'max attempts reached',
        attempt: { at, durationMs: 5, status: failure.status, error: 'failed', code: failure.code },
      });
      return d.id;
    }

    async function seed() {
      return {
        early: await dead('a', t0 - 60_000, { code: TIMEOUT }),
        inside: await dead('a', t0 + 30 * 60_000, { code: TIMEOUT }),
        refused: await dead('a', t0 + 31 * 60_000, { code: 'HOOKRELAY_ERR_UPSTREAM_UNREACHABLE' }),
        answered: await dead('a', t0 + 32 * 60_000, { status: 503 }),
        other: await dead('b', t0 + 33 * 60_000, { code: TIMEOUT }),
        late: await dead('a', t0 + 60 * 60_000, { code: TIMEOUT }),
      };
    }

    it('lists and counts by code, lastStatus and a createdAt window (ISO 8601 or ms)', async () => {
      const r = await seed();
      const window = `since=2026-12-03T14:00:00Z&until=${t0 + 3_600_000}`;
      const list = await call(admin, 'GET', `/deliveries?status=dead&route=a&code=${TIMEOUT}&${window}`);
      expect(list.status).toBe(200);
      expect(list.json.deliveries.map((d) => d.id)).toEqual([r.inside]);
      expect(list.json.deliveries[0]).toMatchObject({ lastCode: TIMEOUT, lastStatus: null });
      const count = await call(admin, 'GET', `/deliveries/count?code=${TIMEOUT}&${window}`);
      expect(count.json).toEqual({ count: 2 });
      expect((await call(admin, 'GET', '/deliveries/count?lastStatus=503')).json).toEqual({ count: 1 });
      expect((await call(admin, 'GET', '/deliveries/count')).json).toEqual({ count: 6 });
      const show = await call(admin, 'GET', `/deliveries/${r.refused}`);
      expect(show.json.delivery.lastCode).toBe('HOOKRELAY_ERR_UPSTREAM_UNREACHABLE');
      expect(show.json.attempts.map((a) => a.code)).toEqual(['HOOKRELAY_ERR_UPSTREAM_UNREACHABLE']);
    });

    it('replays by filter; dryRun answers how many match and changes nothing', async () => {
      const r = await seed();
      const body = {
        status: 'dead',
        route: 'a',
        code: TIMEOUT,
        since: '2026-12-03T14:00:00Z',
        until: '2026-12-03T15:00:00Z',
      };
      const dry = await call(admin, 'POST', '/deliveries/replay', { ...body, dryRun: true });
      expect(dry.json).toEqual({ matched: 1 });
      expect((await admin.driver.get(r.inside))!.record.status).toBe('dead');
      expect(admin.replays).toEqual([]);
      const res = await call(admin, 'POST', '/deliveries/replay', { ...body, dryRun: false });
      expect(res.json).toEqual({ replayed: 1 });
      expect(admin.replays).toEqual([['a']]);
      expect((await admin.driver.get(r.inside))!.record.status).toBe('pending');
      for (const id of [r.early, r.refused, r.answered, r.other, r.late])
        expect((await admin.driver.get(id))!.record.status).toBe('dead');
      // Without a route: every route that has deliveries due is woken.
      const byStatus = await call(admin, 'POST', '/deliveries/replay', { status: 'dead', lastStatus: 503 });
      expect(byStatus.json).toEqual({ replayed: 1 });
      expect(admin.replays[1]).toEqual(['a']);
      const all = await call(admin, 'POST', '/deliveries/replay', {
        status: 'dead',
        code: TIMEOUT,
        since: t0,
      });
      expect(all.json).toEqual({ replayed: 2 });
      expect([...admin.replays[2]!].sort()).toEqual(['a', 'b']);
    });

    it('refuses bad filters with 400 naming the field', async () => {
      const queries: [string, RegExp][] = [
        ['/deliveries?since=yesterday', /since must be an ISO 8601 time/],
        ['/deliveries?until=2026-13-45', /until must be/],
        ['/deliveries/count?lastStatus=abc', /lastStatus must be an HTTP status/],
        ['/deliveries/count?lastStatus=99', /lastStatus/],
        ['/deliveries/count?status=gone', /status must be one of/],
        ['/deliveries/count?limit=5', /unknown query parameter 'limit'/],
        ['/deliveries/count?code=', /`code` must be a non-empty string/],
        ['/deliveries?olderThan=1', /unknown query parameter 'olderThan'/],
      ];
      for (const [path, message] of queries) {
        const res = await call(admin, 'GET', path);
        expect(res.status, path).toBe(400);
        expect(res.json.message, path).toMatch(message);
      }
      const bodies: [unknown, RegExp][] = [
        [{ status: 'dead', since: 'soon' }, /since must be/],
        [{ status: 'dead', until: -5 }, /until must be/],
        [{ status: 'dead', lastStatus: '503x' }, /lastStatus/],
        [{ status: 'dead', code: 5 }, /code/],
        [{ status: 'dead', dryRun: 'yes' }, /dryRun/],
        [{ status: 'dead', limit: 10 }, /unknown field 'limit'/],
        [{ ids: ['x'], code: TIMEOUT }, /not both: got code/],
        [{ ids: ['x'], dryRun: true }, /not both: got dryRun/],
        [{ code: TIMEOUT }, /give `ids`, or `status`/],
      ];
      for (const [body, message] of bodies) {
        const res = await call(admin, 'POST', '/deliveries/replay', body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.json.message, JSON.stringify(body)).toMatch(message);
      }
      expect(admin.replays).toEqual([]);
    });
  });

  describe('POST /deliveries/purge', () => {
    it('purges finished deliveries last changed before the age given, by status and route', async () => {
      const later = await startAdmin(kind, { now: () => Date.now() + 8 * DAY });
      try {
        const d1 = await put(later.driver, delivery('a'), 'delivered');
        const d2 = await put(later.driver, delivery('b'), 'delivered');
        const dead = await put(later.driver, delivery('a'), 'dead');
        const pending = await put(later.driver, delivery('a'));
        // Nothing is 30 days old, even seen from 8 days ahead.
        expect(
          (await call(later, 'POST', '/deliveries/purge', { status: 'delivered', olderThan: '30d' })).json,
        ).toEqual({
          purged: 0,
        });
        const byRoute = await call(later, 'POST', '/deliveries/purge', {
          status: 'delivered',
          olderThan: '7d',
          route: 'a',
        });
        expect(byRoute).toMatchObject({ status: 200, json: { purged: 1 } });
        expect(await later.driver.get(d1)).toBeUndefined();
        expect(await later.driver.get(d2)).toBeDefined();
        expect(
          (await call(later, 'POST', '/deliveries/purge', { status: 'delivered', olderThan: '168h' })).json,
        ).toEqual({
          purged: 1,
        });
        expect(
          (await call(later, 'POST', '/deliveries/purge', { status: 'dead', olderThan: 1000 })).json,
        ).toEqual({
          purged: 1,
        });
        expect(await later.driver.get(dead)).toBeUndefined();
        expect((await later.driver.get(pending))!.record.status).toBe('pending');
      } finally {
        await later.close();
      }
    });

    it('keeps what is younger than the age', async () => {
      const id = await put(admin.driver, delivery('a'), 'delivered');
      const res = await call(admin, 'POST', '/deliveries/purge', { status: 'delivered', olderThan: '7d' });
      expect(res.json).toEqual({ purged: 0 });
      expect(await admin.driver.get(id)).toBeDefined();
    });

    it('refuses to purge pending or in-flight deliveries, and bad input, with 400', async () => {
      const cases: unknown[] = [
        { status: 'pending', olderThan: '1s' },
        { status: 'inflight', olderThan: '1s' },
        { olderThan: '7d' },
        { status: 'delivered' },
        { status: 'delivered', olderThan: 'a week' },
        { status: 'delivered', olderThan: '-1s' },
        { status: 'delivered', olderThan: '7d', route: '' },
        { status: 'delivered', olderThan: '7d', older: 1 },
      ];
      for (const body of cases) {
        const res = await call(admin, 'POST', '/deliveries/purge', body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.json.error).toBe('HOOKRELAY_ERR_ADMIN_BAD_REQUEST');
      }
      expect(
        (await call(admin, 'POST', '/deliveries/purge', { status: 'delivered', olderThan: 'soon' })).json
          .message,
      ).toMatch(/^olderThan: invalid duration 'soon'/);
    });
  });

  describe('GET /queue/stats', () => {
    it('counts and bytes by route and status, totals, oldest pending', async () => {
      const t = Date.now() - 5_000;
      await put(admin.driver, delivery('a', {}, t));
      await put(admin.driver, delivery('a', {}, t + 1), 'dead');
      await put(admin.driver, delivery('b', { body: Buffer.from('12345') }, t + 2), 'delivered');
      const res = await call(admin, 'GET', '/queue/stats');
      expect(res.status).toBe(200);
      // A delivery counts its body and its kept attempts: one each for the dead and the delivered one.
      const dead = 11 + attemptBytes({ at: 0, durationMs: 0, status: 503, error: 'target answered 503' });
      const delivered = 5 + attemptBytes({ at: 0, durationMs: 0, status: 200, error: undefined });
      expect(res.json.routes.a).toEqual({
        pending: { count: 1, bytes: 11 },
        inflight: { count: 0, bytes: 0 },
        dead: { count: 1, bytes: dead },
        delivered: { count: 0, bytes: 0 },
        oldestPending: new Date(t).toISOString(),
      });
      expect(res.json.routes.b).toMatchObject({
        delivered: { count: 1, bytes: delivered },
        oldestPending: null,
      });
      expect(res.json.totals).toEqual({
        pending: { count: 1, bytes: 11 },
        inflight: { count: 0, bytes: 0 },
        dead: { count: 1, bytes: dead },
        delivered: { count: 1, bytes: delivered },
      });
    });
  });

  describe('routing', () => {
    it('404 for an unknown path, 405 with Allow for a wrong method', async () => {
      const missing = await call(admin, 'GET', '/nope');
      expect(missing).toMatchObject({ status: 404, json: { error: 'HOOKRELAY_ERR_ADMIN_NOT_FOUND' } });
      const wrong = await call(admin, 'DELETE', '/deliveries');
      expect(wrong.status).toBe(405);
      expect(wrong.headers.get('allow')).toBe('GET, HEAD');
      const getReplay = await call(admin, 'GET', '/deliveries/replay');
      expect(getReplay.status).toBe(405);
      expect(getReplay.headers.get('allow')).toBe('POST');
    });

    it('413 for a body over 1 MiB', async () => {
      const res = await call(
        admin,
        'POST',
        '/deliveries/replay',
        JSON.stringify({ ids: ['x'.repeat(2 << 20)] }),
      );
      expect(res.status).toBe(413);
    });
  });
});

describe('without a token', () => {
  it('answers every request (loopback-only listener, enforced by the config)', async () => {
    const admin = await startAdmin('memory');
    try {
      const res = await call(admin, 'GET', '/queue/stats', undefined, null);
      expect(res).toMatchObject({
        status: 200,
        json: { routes: {}, totals: { pending: { count: 0, bytes: 0 } } },
      });
    } finally {
      await admin.close();
    }
  });
});
