import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AttemptView, DeliveryDetail, DeliverySummary } from '../../src/present/view.ts';
import { newDeliveryId } from '../../src/queue/ids.ts';
import { SqliteDriver } from '../../src/queue/sqlite.ts';
import type { NewDelivery } from '../../src/queue/types.ts';
import { childProcesses } from '../support/child.ts';
import { type CliResult, runCli } from '../support/cli.ts';
import { REDIS_SERVER, type RedisServer, startRedis } from '../support/redis-server.ts';

/**
 * `hookrelay deliveries migrate --to redis` as a real child process, from a real SQLite file into
 * a real redis-server reached as an ACL user whose password the config takes from ${REDIS_PASSWORD}:
 * what moves, what a rerun and a dry run do, a running lease, the password never shown, and a
 * moved delivery delivered by a relay started on the Redis config.
 */

const PASSWORD = 'migr4te-s3cret-pass';
const ENV = { REDIS_PASSWORD: PASSWORD };

describe.skipIf(REDIS_SERVER === undefined)('hookrelay deliveries migrate --to redis', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hookrelay-migrate-'));
  const children = childProcesses();
  let redis: RedisServer;
  let target: Server | undefined;
  /** What the relay printed, checked for the password at the end (each CLI run is checked as it ends). */
  const printed: string[] = [];
  let n = 0;

  beforeAll(async () => {
    redis = await startRedis();
    await redis.command('ACL', 'SETUSER', 'relay', 'on', `>${PASSWORD}`, '~*', '&*', '+@all');
  });
  afterEach(async () => {
    children.cleanup();
    await new Promise<void>((resolve) => (target ? target.close(() => resolve()) : resolve()));
    target = undefined;
  });
  afterAll(async () => {
    for (const output of printed) expect(output).not.toContain(PASSWORD);
    expect(printed.length).toBeGreaterThan(0);
    await redis?.stop();
    children.removeDir();
    rmSync(dir, { recursive: true, force: true });
  });

  async function cli(...args: string[]): Promise<CliResult> {
    const result = await runCli(args, ENV);
    expect(`${result.stdout}${result.stderr}`).not.toContain(PASSWORD);
    printed.push(result.stdout, result.stderr);
    return result;
  }

  /** A config on this test's own prefix, the SQLite file as queue.path; `driver` sqlite for the refusal. */
  function config(db: string, targetUrl = 'http://127.0.0.1:9', driver = 'redis', port = redis.port): string {
    const file = join(dir, `config-${++n}.yaml`);
    writeFileSync(
      file,
      `server: { host: 127.0.0.1, port: 0, shutdownGrace: 1s }
admin: { enabled: false }
queue:
  driver: ${driver}
  path: ${db}
  redis: { url: "redis://relay:\${REDIS_PASSWORD}@127.0.0.1:${port}", prefix: mig${n}, connectTimeout: 2s }
routes:
  - id: orders
    path: /in/orders
    delivery: async
    forward: { url: "${targetUrl}/orders" }
    queue: { minDelay: 20ms, maxDelay: 100ms }
  - id: invoices
    path: /in/invoices
    delivery: async
    forward: { url: "${targetUrl}/invoices" }
`,
    );
    return file;
  }

  function delivery(routeId: string, at: number, targetUrl = 'http://127.0.0.1:9'): NewDelivery {
    return {
      id: newDeliveryId(at),
      routeId,
      requestId: `req-${routeId}-${at}`,
      request: {
        method: 'POST',
        url: `${targetUrl}/${routeId}`,
        headers: { 'content-type': 'application/json' },
        body: Buffer.from(JSON.stringify({ routeId, at })),
        target: { params: {}, rawQuery: '' },
      },
      createdAt: at,
      nextAttemptAt: at,
      attempts: 0,
    };
  }

  /**
   * A SQLite file with, per route, a dead delivery after two attempts, a delivered one, and
   * pending ones: orders 2 pending, invoices 1 (all due).
   */
  async function seed(targetUrl?: string) {
    const db = join(dir, `q-${++n}`, 'hookrelay.db');
    const q = new SqliteDriver(db);
    const t = Date.now() - 60_000;
    const ids = { dead: [] as string[], delivered: [] as string[], pending: [] as string[] };
    let k = 0;
    for (const route of ['orders', 'invoices']) {
      const dead = delivery(route, t + k++, targetUrl);
      await q.enqueue(dead);
      await q.lease(route, 1, 30_000, Date.now());
      const first = { at: Date.now(), durationMs: 8, status: 503, error: 'target answered 503' };
      await q.nack(dead.id, { nextAttemptAt: Date.now(), attempt: first, response: 'busy' });
      await q.lease(route, 1, 30_000, Date.now());
      const second = { at: Date.now(), durationMs: 4, status: 400, error: 'target answered 400' };
      await q.dead(dead.id, { reason: `refused by ${route}: 400`, attempt: second, response: '{"bad":1}' });
      ids.dead.push(dead.id);
      const done = delivery(route, t + k++, targetUrl);
      await q.enqueue(done);
      await q.lease(route, 1, 30_000, Date.now());
      await q.ack(done.id, {
        status: 200,
        response: 'ok',
        attempt: { ...first, status: 200, error: undefined },
      });
      ids.delivered.push(done.id);
    }
    for (const route of ['orders', 'orders', 'invoices']) {
      const d = delivery(route, t + k++, targetUrl);
      await q.enqueue(d);
      ids.pending.push(d.id);
    }
    return { db, q, ids };
  }

  const rows = (stdout: string) =>
    stdout
      .split('\n')
      .filter((line) => /^(ROUTE|orders|invoices|total) /.test(line))
      .map((line) => line.split(/ {2,}/));

  async function listed(file: string): Promise<DeliverySummary[]> {
    const result = await cli('deliveries', 'list', '-c', file, '--json');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    return (JSON.parse(result.stdout) as { deliveries: DeliverySummary[] }).deliveries;
  }

  it('moves pending and dead deliveries with the same ids, attempts and reasons; a rerun moves nothing', {
    timeout: 60_000,
  }, async () => {
    const { db, q, ids } = await seed();
    const before = await Promise.all([...ids.dead, ...ids.pending].map((id) => q.get(id)));
    await q.close();
    const bytes = readFileSync(db);
    const file = config(db);

    const result = await cli('deliveries', 'migrate', '--to', 'redis', '-c', file);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`from ${db} (SQLite) to redis://127.0.0.1:${redis.port} (prefix mig`);
    expect(rows(result.stdout)).toEqual([
      ['ROUTE', 'PENDING', 'DEAD', 'DELIVERED', 'ALREADY THERE'],
      ['invoices', '1', '1', '0', '0'],
      ['orders', '2', '1', '0', '0'],
      ['total', '3', '2', '0', '0'],
    ]);
    expect(result.stdout).toMatch(/moved 5 deliveries\n/);
    expect(result.stdout).toMatch(/2 delivered deliveries left out \(--include-delivered moves them\)/);
    expect(result.stdout).toContain(`${db} was not changed: delete it once the relays run on Redis`);
    expect(readFileSync(db).equals(bytes)).toBe(true);

    const moved = await listed(file);
    expect(moved.map((d) => d.id)).toEqual([...ids.dead, ...ids.pending].sort());
    for (const found of before) {
      const { record, attempts } = found!;
      const shown = await cli('deliveries', 'show', record.id, '-c', file, '--json');
      expect(shown.code).toBe(0);
      const { delivery: view, attempts: history } = JSON.parse(shown.stdout) as {
        delivery: DeliveryDetail;
        attempts: AttemptView[];
      };
      expect(view).toMatchObject({
        id: record.id,
        route: record.routeId,
        status: record.status,
        attempts: record.attempts,
        requestId: record.requestId,
      });
      expect(history).toHaveLength(attempts.length);
      if (record.status === 'dead') {
        expect(view).toMatchObject({ lastError: `refused by ${record.routeId}: 400`, lastStatus: 400 });
        expect(history.map((a) => a.status)).toEqual([503, 400]);
      }
    }

    const again = await cli('deliveries', 'migrate', '--to', 'redis', '-c', file);
    expect(again.code).toBe(0);
    expect(rows(again.stdout)).toEqual([
      ['ROUTE', 'PENDING', 'DEAD', 'DELIVERED', 'ALREADY THERE'],
      ['invoices', '0', '0', '0', '2'],
      ['orders', '0', '0', '0', '3'],
      ['total', '0', '0', '0', '5'],
    ]);
    expect(again.stdout).toContain('moved 0 deliveries; 5 already in Redis, left as they are');
    expect((await listed(file)).map((d) => d.id)).toEqual(moved.map((d) => d.id));

    // Delivered ones on request; the others are there already.
    const all = await cli(
      'deliveries',
      'migrate',
      '--to',
      'redis',
      '-c',
      file,
      '--include-delivered',
      '--json',
    );
    expect(all.code).toBe(0);
    expect(JSON.parse(all.stdout)).toMatchObject({
      dryRun: false,
      from: db,
      to: { url: `redis://127.0.0.1:${redis.port}` },
      total: { pending: 0, dead: 0, delivered: 2, alreadyThere: 5 },
      leftOut: { delivered: 0 },
      warnings: [],
    });
    expect((await listed(file)).filter((d) => d.status === 'delivered').map((d) => d.id)).toEqual(
      [...ids.delivered].sort(),
    );
  });

  it('--dry-run reports what would move and writes nothing', { timeout: 30_000 }, async () => {
    const { db, q } = await seed();
    await q.close();
    const file = config(db);
    const result = await cli('deliveries', 'migrate', '--to', 'redis', '-c', file, '--dry-run');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Dry run, nothing written: /);
    expect(rows(result.stdout).at(-1)).toEqual(['total', '3', '2', '0', '0']);
    expect(result.stdout).toContain('would move 5 deliveries');
    expect(await listed(file)).toEqual([]);
    expect(await redis.command('KEYS', `mig${n}:*`)).toBe('');
  });

  it('refuses while a lease is running, unless --force (then the in-flight one moves as pending)', {
    timeout: 30_000,
  }, async () => {
    const { db, q, ids } = await seed();
    const [held] = await q.lease('invoices', 1, 600_000, Date.now());
    expect(held!.id).toBe(ids.pending[2]);
    const file = config(db);
    const refused = await cli('deliveries', 'migrate', '--to', 'redis', '-c', file);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/1 delivery is in flight .* with a lease still running/);
    expect(refused.stderr).toMatch(/Stop the relays first/);
    expect(refused.stderr).toMatch(/--force .* twice/);
    expect(await listed(file)).toEqual([]);

    const forced = await cli('deliveries', 'migrate', '--to', 'redis', '-c', file, '--force');
    expect(forced.code).toBe(0);
    expect(rows(forced.stdout).at(-1)).toEqual(['total', '3', '2', '0', '0']);
    const moved = (await listed(file)).find((d) => d.id === held!.id);
    expect(moved).toMatchObject({ status: 'pending' });
    await q.close();
  });

  it('usage: the config must name Redis (exit 2); --to is required; no SQLite file is exit 1', async () => {
    const { db, q } = await seed();
    await q.close();
    const sqlite = await cli('deliveries', 'migrate', '--to', 'redis', '-c', config(db, undefined, 'sqlite'));
    expect(sqlite.code).toBe(2);
    expect(sqlite.stderr).toMatch(/queue.driver: sqlite; .*switch it to queue.driver: redis/);
    const noTo = await cli('deliveries', 'migrate', '-c', config(db));
    expect(noTo.code).toBe(2);
    expect(noTo.stderr).toMatch(/--to redis is required/);
    const missing = join(dir, 'nowhere.db');
    const none = await cli('deliveries', 'migrate', '--to', 'redis', '-c', config(db), '--from', missing);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`no SQLite file at ${missing} (--from)`);
    expect(() => statSync(missing)).toThrow();
  });

  it('prints the warnings of the durability check the relay runs at start', { timeout: 30_000 }, async () => {
    const lax = await startRedis({ settings: { appendfsync: 'everysec' } });
    try {
      await lax.command('ACL', 'SETUSER', 'relay', 'on', `>${PASSWORD}`, '~*', '&*', '+@all');
      const { db, q } = await seed();
      await q.close();
      const file = config(db, undefined, 'redis', lax.port);
      const result = await cli('deliveries', 'migrate', '--to', 'redis', '-c', file, '--json');
      expect(result.code).toBe(0);
      expect(result.stderr).toMatch(/warning: redis durability: appendfsync is 'everysec', not 'always'/);
      expect(JSON.parse(result.stdout).warnings).toEqual([
        expect.stringMatching(/^appendfsync is 'everysec'/),
      ]);
    } finally {
      await lax.stop();
    }
  });

  it('a moved pending delivery is delivered by a relay started on the Redis config', {
    timeout: 60_000,
  }, async () => {
    const received: { url: string; id: string | undefined; body: string }[] = [];
    target = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        received.push({ url: req.url ?? '', id: req.headers['x-hookrelay-delivery'] as string, body });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => target!.listen(0, '127.0.0.1', resolve));
    const targetUrl = `http://127.0.0.1:${(target.address() as { port: number }).port}`;
    const { db, q, ids } = await seed(targetUrl);
    await q.close();
    const file = config(db, targetUrl);
    expect((await cli('deliveries', 'migrate', '--to', 'redis', '-c', file)).code).toBe(0);

    const relay = await children.start(['start', '-c', file], { env: ENV });
    const deadline = Date.now() + 20_000;
    while (received.length < ids.pending.length && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(received.map((r) => r.id).sort()).toEqual([...ids.pending].sort());
    expect(received.find((r) => r.id === ids.pending[2])).toMatchObject({ url: '/invoices' });
    expect(JSON.parse(received[0]!.body)).toHaveProperty('routeId');
    const after = await listed(file);
    expect(
      after
        .filter((d) => d.status === 'delivered')
        .map((d) => d.id)
        .sort(),
    ).toEqual([...ids.pending].sort());
    expect(after.filter((d) => d.status === 'dead')).toHaveLength(2);
    printed.push(JSON.stringify(relay.logs), relay.stderr());
  });
});
