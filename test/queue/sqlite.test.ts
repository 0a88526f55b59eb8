import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS, SqliteDriver } from '../../src/queue/sqlite.ts';
import {
  type AttemptLog,
  attemptBytes,
  type DriverOptions,
  DuplicateDelivery,
} from '../../src/queue/types.ts';
import { driverContract, newDelivery } from './contract.ts';

const dir = mkdtempSync(join(tmpdir(), 'hookrelay-sqlite-'));
let files = 0;
const newFile = () => join(dir, `run-${++files}`, 'queue.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

driverContract('sqlite', (options) => new SqliteDriver(newFile(), options));

describe('sqlite driver', () => {
  const open: SqliteDriver[] = [];
  afterEach(async () => {
    for (const driver of open.splice(0)) await driver.close();
  });
  function openDriver(path: string, options?: DriverOptions): SqliteDriver {
    const driver = new SqliteDriver(path, options);
    open.push(driver);
    return driver;
  }

  it('creates its folder and a WAL-mode file at the latest schema version', async () => {
    const path = newFile();
    const q = openDriver(path);
    expect(existsSync(path)).toBe(true);
    expect(q.schemaVersion).toBe(MIGRATIONS.length);
    const db = new DatabaseSync(path);
    expect(db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    db.close();
  });

  it('migrates a version-1 file: the history is counted in the bytes, and trimmed at the next attempt', async () => {
    const path = newFile();
    mkdirSync(dirname(path), { recursive: true });
    const db = new DatabaseSync(path);
    db.exec('CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1);');
    db.exec(MIGRATIONS[0]!);
    const now = Date.now();
    const d = newDelivery({ nextAttemptAt: now });
    db.prepare(
      `INSERT INTO deliveries (id, route, request_id, method, url, headers, body, body_bytes, status,
         created_at, updated_at, next_attempt_at, attempts)
       VALUES (?, 'r1', 'req', 'POST', 'http://x/', '{}', ?, ?, 'pending', ?, ?, ?, 25)`,
    ).run(d.id, d.request.body!, d.request.body!.length, now, now, now);
    const insert = db.prepare(
      'INSERT INTO attempts (delivery_id, at, duration_ms, status, error) VALUES (?, ?, 5, ?, ?)',
    );
    const old: AttemptLog[] = [];
    for (let i = 0; i < 25; i++) {
      const a: AttemptLog = {
        at: now + i,
        durationMs: 5,
        status: i % 2 ? 503 : undefined,
        error: i % 2 ? undefined : `refused ${i}`,
      };
      old.push(a);
      insert.run(d.id, a.at, a.status ?? null, a.error ?? null);
    }
    db.close();

    const q = openDriver(path, { keepAttempts: 3 });
    expect(q.schemaVersion).toBe(MIGRATIONS.length);
    const history = old.reduce((sum, a) => sum + attemptBytes(a), 0);
    const before = (await q.get(d.id))!;
    expect(before.attempts).toEqual(old);
    expect(before.record).toMatchObject({ historyBytes: history, attemptsDropped: 0 });
    expect((await q.stats()).byRoute.r1!.pending).toEqual({
      count: 1,
      bytes: d.request.body!.length + history,
    });

    await q.lease('r1', 1, 30_000, now);
    const next: AttemptLog = { at: now + 25, durationMs: 5, status: 503, error: undefined };
    await q.nack(d.id, { nextAttemptAt: now + 1_000, attempt: next });
    const after = (await q.get(d.id))!;
    const kept = [old[0]!, old[23]!, old[24]!, next];
    expect(after.attempts).toEqual(kept);
    expect(after.record).toMatchObject({
      attempts: 26,
      attemptsDropped: 22,
      historyBytes: kept.reduce((sum, a) => sum + attemptBytes(a), 0),
    });
  });

  it('migrates a version-3 file: its records have no code, match no code filter, and record one from then on', async () => {
    const path = newFile();
    mkdirSync(dirname(path), { recursive: true });
    const db = new DatabaseSync(path);
    db.exec('CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (3);');
    for (const migration of MIGRATIONS.slice(0, 3)) db.exec(migration);
    const now = Date.now();
    const d = newDelivery({ nextAttemptAt: now });
    db.prepare(
      `INSERT INTO deliveries (id, route, request_id, method, url, headers, body, body_bytes, status,
         created_at, updated_at, next_attempt_at, attempts, last_error)
       VALUES (?, 'r1', 'req', 'POST', 'http://x/', '{}', NULL, 0, 'dead', ?, ?, ?, 1, 'refused')`,
    ).run(d.id, now, now, now);
    db.prepare(
      `INSERT INTO attempts (delivery_id, at, duration_ms, status, error, bytes) VALUES (?, ?, 5, NULL, 'refused', 71)`,
    ).run(d.id, now);
    db.close();

    const q = openDriver(path);
    expect(q.schemaVersion).toBe(MIGRATIONS.length);
    const got = (await q.get(d.id))!;
    expect(got.record).toMatchObject({ status: 'dead', lastError: 'refused', lastCode: undefined });
    expect(got.attempts).toEqual([
      { at: now, durationMs: 5, status: undefined, error: 'refused', code: undefined },
    ]);
    expect(await q.count({ status: 'dead' })).toBe(1);
    expect(await q.count({ status: 'dead', code: 'HOOKRELAY_ERR_UPSTREAM_UNREACHABLE' })).toBe(0);
    expect(await q.replay({ status: 'dead', routeId: 'r1', limit: 5 }, now)).toBe(1);
    await q.lease('r1', 1, 30_000, now);
    const attempt = {
      at: now,
      durationMs: 5,
      status: undefined,
      error: 'x',
      code: 'HOOKRELAY_ERR_UPSTREAM_TIMEOUT',
    };
    await q.dead(d.id, { reason: 'exhausted', attempt });
    expect(await q.count({ code: 'HOOKRELAY_ERR_UPSTREAM_TIMEOUT' })).toBe(1);
  });

  it('migrates a file from before attempt trace ids: old attempts have none, new ones keep theirs', async () => {
    const path = newFile();
    mkdirSync(dirname(path), { recursive: true });
    const db = new DatabaseSync(path);
    const before = MIGRATIONS.length - 1;
    db.exec(
      `CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (${before});`,
    );
    for (const migration of MIGRATIONS.slice(0, before)) db.exec(migration);
    const now = Date.now();
    const d = newDelivery({ nextAttemptAt: now });
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    db.prepare(
      `INSERT INTO deliveries (id, route, request_id, method, url, headers, body, body_bytes, status,
         created_at, updated_at, next_attempt_at, attempts, last_error, trace)
       VALUES (?, 'r1', 'req', 'POST', 'http://x/', '{}', NULL, 0, 'pending', ?, ?, ?, 1, '503', ?)`,
    ).run(d.id, now, now, now, JSON.stringify({ traceparent }));
    db.prepare(
      `INSERT INTO attempts (delivery_id, at, duration_ms, status, error, bytes) VALUES (?, ?, 5, 503, NULL, 64)`,
    ).run(d.id, now);
    db.close();

    const q = openDriver(path);
    expect(q.schemaVersion).toBe(MIGRATIONS.length);
    const got = (await q.get(d.id))!;
    expect(got.record.trace).toEqual({ traceparent });
    expect(got.attempts[0]!.status).toBe(503);
    expect(got.attempts[0]!.traceId).toBeUndefined();
    expect(got.attempts[0]!.spanId).toBeUndefined();
    await q.lease('r1', 1, 30_000, now);
    const ids = { traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174' };
    await q.ack(d.id, {
      status: 200,
      response: undefined,
      attempt: { at: now + 1, durationMs: 4, status: 200, error: undefined, ...ids },
    });
    const after = (await q.get(d.id))!;
    expect(after.attempts.map((a) => a.traceId)).toEqual([undefined, ids.traceId]);
    expect(after.attempts[1]).toMatchObject(ids);
    // The new attempt counts its trace ids (32 + 16 hex digits) beside the row's fixed share.
    expect(after.record.historyBytes - got.record.historyBytes).toBe(64 + 32 + 16);
  });

  it('filters through an index: no full scan of deliveries for a route, status and time window', () => {
    const path = newFile();
    openDriver(path);
    const db = new DatabaseSync(path);
    const plan = (sql: string) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join('; ');
    expect(
      plan(
        "SELECT count(*) FROM deliveries WHERE route = 'a' AND status = 'dead' AND last_code = 'x' AND created_at >= 1 AND created_at < 2",
      ),
    ).toMatch(/USING INDEX deliveries_age/);
    expect(
      plan(
        "SELECT id FROM deliveries WHERE status = 'dead' AND created_at >= 1 ORDER BY created_at, id LIMIT 5",
      ),
    ).toMatch(/USING INDEX deliveries_created/);
    db.close();
  });

  it('refuses a file written by a newer version', async () => {
    const path = newFile();
    await openDriver(path).close();
    const db = new DatabaseSync(path);
    db.exec('UPDATE schema_version SET version = 99');
    db.close();
    expect(() => new SqliteDriver(path)).toThrow(/schema version 99/);
  });

  it('keeps everything across close and reopen', async () => {
    const path = newFile();
    const q = openDriver(path);
    const now = Date.now();
    const a = newDelivery({ dedup: { key: 'evt-a', windowMs: 3_600_000 }, createdAt: now });
    const b = newDelivery();
    const c = newDelivery({ nextAttemptAt: now + 60_000 });
    for (const d of [a, b, c]) await q.enqueue(d);
    await q.lease('r1', 2, 30_000, now);
    await q.nack(a.id, {
      nextAttemptAt: now + 1_000,
      attempt: { at: now, durationMs: 5, status: 500, error: undefined },
      response: 'x',
    });
    await q.dead(b.id, {
      reason: 'gone',
      attempt: { at: now, durationMs: 5, status: 410, error: undefined },
    });
    const before = await Promise.all([a, b, c].map((d) => q.get(d.id)));
    const statsBefore = await q.stats();
    await q.close();

    const reopened = openDriver(path);
    expect(await Promise.all([a, b, c].map((d) => reopened.get(d.id)))).toEqual(before);
    expect(await reopened.stats()).toEqual(statsBefore);
    await expect(
      reopened.enqueue(newDelivery({ createdAt: now + 1, dedup: { key: 'evt-a', windowMs: 3_600_000 } })),
    ).rejects.toBeInstanceOf(DuplicateDelivery);
  });

  it('close commits the writes still waiting for their batch', async () => {
    const path = newFile();
    const q = new SqliteDriver(path);
    const pending = Array.from({ length: 10 }, () => newDelivery());
    const writes = pending.map((d) => q.enqueue(d));
    await q.close();
    await Promise.all(writes);
    const reopened = openDriver(path);
    expect(await reopened.list({})).toHaveLength(10);
  });

  it('a second connection to the same file sees the records and cannot lease a leased one', async () => {
    const path = newFile();
    const relay = openDriver(path);
    const cli = openDriver(path);
    const now = Date.now();
    const d = newDelivery({ nextAttemptAt: now });
    await relay.enqueue(d);
    expect((await cli.get(d.id))?.record.status).toBe('pending');
    expect((await cli.stats()).byRoute.r1?.pending.count).toBe(1);

    expect((await relay.lease('r1', 10, 30_000, now)).map((r) => r.id)).toEqual([d.id]);
    expect(await cli.lease('r1', 10, 30_000, now + 29_999)).toEqual([]);
    expect((await cli.get(d.id))?.record.status).toBe('inflight');
    // the lease expires: now the other connection may take it (at-least-once)
    expect((await cli.lease('r1', 10, 30_000, now + 30_000)).map((r) => r.id)).toEqual([d.id]);

    // operator actions through the second connection are seen by the first
    await cli.dead(d.id, { reason: 'operator test' });
    expect(await cli.replay({ ids: [d.id] }, now)).toBe(1);
    expect((await relay.get(d.id))?.record).toMatchObject({ status: 'pending', replays: 1 });
  });

  it('two connections leasing at once never share a record', async () => {
    const path = newFile();
    const one = openDriver(path);
    const two = openDriver(path);
    const now = Date.now();
    await Promise.all(Array.from({ length: 300 }, () => one.enqueue(newDelivery({ nextAttemptAt: now }))));
    const leases = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? one : two).lease('r1', 10, 30_000, now)),
    );
    const leased = leases.flat().map((r) => r.id);
    expect(leased).toHaveLength(300);
    expect(new Set(leased).size).toBe(300);
  });

  it('two processes leasing from the same file never share a record', async () => {
    const path = newFile();
    const q = openDriver(path);
    const now = Date.now();
    const all = Array.from({ length: 600 }, () => newDelivery({ routeId: 'shared', nextAttemptAt: now }));
    await Promise.all(all.map((d) => q.enqueue(d)));

    const script = fileURLToPath(new URL('./fixtures/lease-child.ts', import.meta.url));
    const children = [0, 1].map(() => {
      const child = spawn(process.execPath, [script, path], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        err += chunk.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      return { child, exited, out: () => out, err: () => err };
    });
    const deadline = Date.now() + 15_000;
    while (!children.every((c) => c.out().includes('ready\n'))) {
      if (Date.now() > deadline)
        throw new Error(`children not ready: ${children.map((c) => c.err()).join()}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const c of children) c.child.stdin.end('go\n');
    const codes = await Promise.all(children.map((c) => c.exited));
    expect(codes, children.map((c) => c.err()).join('\n')).toEqual([0, 0]);

    const leasedBy = children.map((c) =>
      c
        .out()
        .split('\n')
        .filter((line) => line.startsWith('leased '))
        .map((line) => line.slice(7)),
    );
    const leased = leasedBy.flat();
    expect(leased).toHaveLength(600);
    expect(new Set(leased)).toEqual(new Set(all.map((d) => d.id)));
    expect((await q.stats()).byRoute.shared?.delivered.count).toBe(600);
  });

  it('group commit: 200 concurrent enqueues take far fewer than 200 transactions', async () => {
    const q = openDriver(newFile());
    const before = q.commits;
    await Promise.all(Array.from({ length: 200 }, () => q.enqueue(newDelivery())));
    const used = q.commits - before;
    expect(used).toBeGreaterThanOrEqual(1);
    expect(used).toBeLessThan(10);
    expect((await q.stats()).byRoute.r1?.pending.count).toBe(200);

    // sequential awaited writes each need their own commit
    const sequentialBefore = q.commits;
    for (let i = 0; i < 5; i++) await q.enqueue(newDelivery());
    expect(q.commits - sequentialBefore).toBe(5);
  });

  it('stats counters match a full count after a mix of operations', async () => {
    const path = newFile();
    const q = openDriver(path);
    const now = Date.now();
    const all = Array.from({ length: 60 }, (_, i) =>
      newDelivery({
        routeId: `r${i % 3}`,
        request: { method: 'POST', url: 'u', headers: {}, body: Buffer.alloc(i) },
      }),
    );
    await Promise.all(all.map((d) => q.enqueue(d)));
    for (const route of ['r0', 'r1', 'r2']) {
      const leased = await q.lease(route, 12, 30_000, now);
      for (const [i, r] of leased.entries()) {
        const at = { at: now, durationMs: 1, status: 200, error: undefined };
        if (i % 3 === 0) await q.ack(r.id, { status: 200, response: undefined, attempt: at });
        else if (i % 3 === 1) await q.dead(r.id, { reason: 'x' });
        else await q.nack(r.id, { nextAttemptAt: now, attempt: at });
      }
    }
    await q.replay({ routeId: 'r1', status: 'dead' }, now);
    await q.purge({ status: 'delivered', routeId: 'r2', olderThan: Date.now() + 1 });

    const db = new DatabaseSync(path, { readOnly: true });
    const rows = db
      .prepare(
        'SELECT route, status, count(*) AS count, sum(body_bytes + history_bytes) AS bytes FROM deliveries GROUP BY route, status',
      )
      .all() as { route: string; status: string; count: number; bytes: number }[];
    db.close();
    const stats = await q.stats();
    for (const row of rows) {
      expect(stats.byRoute[row.route]?.[row.status as 'pending']).toEqual({
        count: row.count,
        bytes: row.bytes,
      });
    }
    const total = Object.values(stats.byRoute)
      .flatMap((r) => Object.values(r))
      .reduce((sum, s) => sum + s.count, 0);
    expect(total).toBe(rows.reduce((sum, r) => sum + r.count, 0));
  });

  it('every acknowledged enqueue survives kill -9 of the process', async () => {
    const path = newFile();
    await openDriver(path).close(); // create the file and schema before the child starts
    const script = fileURLToPath(new URL('./fixtures/enqueue-child.ts', import.meta.url));
    const child = spawn(process.execPath, [script, path], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: string[] = [];
    let stderr = '';
    let buffered = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('close', (_code, signal) => resolve(signal)),
    );
    const enough = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`child acked only ${acked.length}: ${stderr}`)),
        15_000,
      );
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) if (line.startsWith('acked ')) acked.push(line.slice(6));
        if (acked.length >= 1_000) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    await enough;
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(acked.length).toBeGreaterThanOrEqual(1_000);

    const reopened = openDriver(path);
    const stored = new Set<string>();
    let after: string | undefined;
    for (;;) {
      const page = await reopened.list({ routeId: 'crash', limit: 5_000, after });
      if (page.length === 0) break;
      for (const r of page) stored.add(r.id);
      after = page.at(-1)!.id;
    }
    const missing = acked.filter((id) => !stored.has(id));
    expect(missing).toEqual([]);
  });
});
