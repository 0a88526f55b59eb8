import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeliveryDetail } from '../../src/present/view.ts';
import { newDeliveryId } from '../../src/queue/ids.ts';
import { SqliteDriver } from '../../src/queue/sqlite.ts';
import type { NewDelivery, QueueDriver } from '../../src/queue/types.ts';

/**
 * `hookrelay deliveries` as a real child process on a real SQLite file, which this test process
 * keeps open meanwhile — as a running relay would.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const TIMEOUT = 'HOOKRELAY_ERR_UPSTREAM_TIMEOUT';
const UNREACHABLE = 'HOOKRELAY_ERR_UPSTREAM_UNREACHABLE';
const dir = mkdtempSync(join(tmpdir(), 'hookrelay-deliveries-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<Result> {
  const { HOOKRELAY_CONFIG: _ignored, ...env } = process.env;
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['src/main.ts', ...args],
      { cwd: ROOT, env, timeout: 15_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

let n = 0;
function config(queue: string): string {
  const path = join(dir, `config-${++n}.yaml`);
  writeFileSync(
    path,
    `queue:
${queue}
routes:
  - id: orders
    path: /in/orders
    delivery: async
    forward: { url: "http://127.0.0.1:9/orders" }
  - id: invoices
    path: /in/invoices
    delivery: async
    forward: { url: "http://127.0.0.1:9/invoices" }
`,
  );
  return path;
}

function delivery(
  routeId: string,
  request: Partial<NewDelivery['request']> = {},
  at = Date.now(),
): NewDelivery {
  return {
    id: newDeliveryId(at),
    routeId,
    requestId: `req-${at}`,
    request: {
      method: 'POST',
      url: `http://127.0.0.1:9/${routeId}`,
      headers: { 'content-type': 'application/json' },
      body: Buffer.from('{"order":{"id":42,"total":9.5}}'),
      ...request,
    },
    createdAt: at,
    nextAttemptAt: at,
    attempts: 0,
  };
}

async function put(driver: QueueDriver, d: NewDelivery, end?: 'dead' | 'delivered'): Promise<string> {
  await driver.enqueue(d);
  if (!end) return d.id;
  const leased = await driver.lease(d.routeId, 1000, 30_000, Date.now() + 1);
  const attempt = { at: Date.now(), durationMs: 7, status: 503, error: 'target answered 503' };
  if (end === 'dead')
    await driver.dead(d.id, { reason: 'max attempts (1) reached', attempt, response: '{"error":"down"}' });
  else
    await driver.ack(d.id, {
      status: 200,
      response: 'ok',
      attempt: { ...attempt, status: 200, error: undefined },
    });
  await driver.release(leased.map((r) => r.id).filter((id) => id !== d.id));
  return d.id;
}

let db: string;
let file: string;
let driver: SqliteDriver;

beforeEach(() => {
  db = join(dir, `q-${++n}`, 'hookrelay.db');
  file = config(`  path: ${db}`);
  driver = new SqliteDriver(db);
});
afterEach(() => driver.close());

describe('list', () => {
  it('prints a table: id, route, status, attempts, last status/error, age', async () => {
    const t = Date.now() - 5 * 60_000;
    const a = await put(driver, delivery('orders', {}, t));
    const b = await put(driver, delivery('orders', {}, t + 1), 'dead');
    const c = await put(driver, delivery('invoices', {}, t + 2), 'delivered');
    const result = await cli(['deliveries', 'list', '-c', file]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +ROUTE +STATUS +ATTEMPTS +LAST +AGE$/);
    expect(lines.slice(1).map((l) => l.split(/ {2,}/))).toEqual([
      [a, 'orders', 'pending', '0', '-', '5m'],
      [b, 'orders', 'dead', '1', '503 max attempts (1) reached', '5m'],
      [c, 'invoices', 'delivered', '1', '200', '5m'],
    ]);
    // Columns line up.
    const column = lines[0]!.indexOf('STATUS');
    for (const line of lines.slice(1)) expect(line.slice(column)).toMatch(/^(pending|dead|delivered) /);
  });

  it('filters by route and status, limits, and prints JSON as the admin API', async () => {
    const t = Date.now() - 1000;
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await put(driver, delivery('orders', {}, t + i), 'dead'));
    await put(driver, delivery('invoices', {}, t + 3), 'dead');
    await put(driver, delivery('orders', {}, t + 4));

    const dead = await cli(['deliveries', 'list', '-c', file, '--route', 'orders', '--status', 'dead']);
    expect(
      dead.stdout
        .trimEnd()
        .split('\n')
        .slice(1)
        .map((l) => l.split(' ')[0]),
    ).toEqual(ids);

    const limited = await cli(['deliveries', 'list', '-c', file, '-r', 'orders', '-s', 'dead', '-n', '2']);
    expect(limited.stdout).toContain('(first 2; --limit N shows more)');
    expect(limited.stdout).not.toContain(ids[2]);

    const json = await cli(['deliveries', 'list', '-c', file, '--status', 'dead', '--limit', '3', '--json']);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as { deliveries: Record<string, unknown>[]; next: string | null };
    expect(parsed.deliveries.map((d) => d.id)).toEqual(ids);
    expect(parsed.next).toBe(ids[2]);
    expect(parsed.deliveries[0]).toMatchObject({
      route: 'orders',
      status: 'dead',
      attempts: 1,
      lastStatus: 503,
      createdAt: new Date(t).toISOString(),
    });
    expect(parsed.deliveries[0]).not.toHaveProperty('request');
  });

  it('says so when there is nothing', async () => {
    expect(await cli(['deliveries', 'list', '-c', file, '--status', 'dead'])).toEqual({
      code: 0,
      stdout: 'no deliveries\n',
      stderr: '',
    });
  });
});

describe('show', () => {
  it('prints the record, the request with credentials redacted, the body pretty-printed, the attempts', async () => {
    const id = await put(
      driver,
      delivery('orders', { headers: { 'content-type': 'application/json', 'x-api-key': 'caller-key' } }),
      'dead',
    );
    const result = await cli(['deliveries', 'show', id, '-c', file]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = result.stdout;
    expect(out).toContain(`delivery:     ${id}\n`);
    expect(out).toContain('route:        orders\n');
    expect(out).toContain('status:       dead, 1 attempt\n');
    expect(out).toContain('last:         503 max attempts (1) reached\n');
    expect(out).toContain('last response:\n  {"error":"down"}\n');
    expect(out).toContain(
      'POST http://127.0.0.1:9/orders\ncontent-type: application/json\nx-api-key: <redacted>\n\n{\n  "order": {\n    "id": 42,\n    "total": 9.5\n  }\n}\n',
    );
    expect(out).toMatch(/attempts:\n {4}1 {2}\d{4}-\d\d-\d\dT[\d:.]+Z +7ms {2}503 target answered 503\n$/);
    expect(out).not.toContain('caller-key');
  });

  it('numbers the kept attempts and says how many were not kept', async () => {
    const d = delivery('orders');
    await driver.enqueue(d);
    const started = Date.now();
    for (let i = 0; i < 25; i++) {
      await driver.lease('orders', 1, 30_000, started + 1_000 * (i + 1));
      const attempt = {
        at: started + i,
        durationMs: 3,
        status: 500 + (i % 4),
        error: `target answered ${500 + (i % 4)}`,
      };
      await driver.nack(d.id, { nextAttemptAt: started + 1_000 * (i + 2), attempt });
    }
    const text = (await cli(['deliveries', 'show', d.id, '-c', file])).stdout;
    const lines = text.slice(text.indexOf('attempts:\n')).split('\n').slice(1, -1);
    expect(lines).toHaveLength(22);
    expect(lines[0]).toMatch(/^ {4}1 {2}\S+ +3ms {2}500 target answered 500$/);
    expect(lines[1]).toBe('    …  4 attempts not kept');
    expect(lines.slice(2).map((line) => line.trim().split(/\s+/)[0])).toEqual(
      Array.from({ length: 20 }, (_, i) => String(i + 6)),
    );
    const json = JSON.parse((await cli(['deliveries', 'show', d.id, '-c', file, '--json'])).stdout) as {
      delivery: DeliveryDetail;
      attempts: unknown[];
    };
    expect(json.delivery).toMatchObject({ attempts: 25, attemptsDropped: 4 });
    expect(json.attempts).toHaveLength(21);
  });

  it('pretty-prints an XML body', async () => {
    const xml =
      '<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><Order id="7"><Total>9.50</Total><Note/></Order></soap:Body></soap:Envelope>';
    const id = await put(
      driver,
      delivery('orders', { headers: { 'content-type': 'text/xml' }, body: Buffer.from(xml) }),
    );
    const result = await cli(['deliveries', 'show', '-c', file, id]);
    expect(result.stdout).toContain(
      [
        '<?xml version="1.0"?>',
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">',
        '  <soap:Body>',
        '    <Order id="7">',
        '      <Total>9.50</Total>',
        '      <Note/>',
        '    </Order>',
        '  </soap:Body>',
        '</soap:Envelope>',
      ].join('\n'),
    );
    expect(result.stdout).toContain('attempts:\n  (none yet)\n');
  });

  it('--json prints the admin API shape', async () => {
    const id = await put(driver, delivery('orders'), 'dead');
    const result = await cli(['deliveries', 'show', id, '-c', file, '--json']);
    const parsed = JSON.parse(result.stdout) as { delivery: DeliveryDetail; attempts: unknown[] };
    expect(parsed.delivery).toMatchObject({ id, status: 'dead', lastResponse: '{"error":"down"}' });
    expect(parsed.delivery.request).toMatchObject({
      body: '{"order":{"id":42,"total":9.5}}',
      bodyEncoding: 'utf8',
    });
    expect(parsed.attempts).toEqual([
      {
        at: expect.any(String),
        durationMs: 7,
        status: 503,
        error: 'target answered 503',
        code: null,
        traceId: null,
        spanId: null,
      },
    ]);
  });

  it('exits 1 for an unknown id', async () => {
    const result = await cli(['deliveries', 'show', 'nope', '-c', file]);
    expect(result).toEqual({ code: 1, stdout: '', stderr: "hookrelay deliveries: no delivery 'nope'\n" });
  });
});

describe('replay', () => {
  it('replays dead deliveries by id; unknown ids exit 1, pending ones are left alone', async () => {
    const dead = await put(driver, delivery('orders'), 'dead');
    const pending = await put(driver, delivery('orders'));
    const result = await cli(['deliveries', 'replay', dead, pending, 'nope', '-c', file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(
      'replayed 1 of 3 deliveries; a running relay delivers it within its poll interval\n',
    );
    expect(result.stderr).toBe(
      `hookrelay deliveries: no delivery 'nope'\nhookrelay deliveries: delivery ${pending} is pending already: not replayed\n`,
    );
    const record = (await driver.get(dead))!.record;
    expect(record).toMatchObject({ status: 'pending', attempts: 0, replays: 1 });
    expect((await cli(['deliveries', 'show', dead, '-c', file])).stdout).toContain(
      'status:       pending, 0 attempts since replayed (1 replay)\n',
    );

    const ok = await cli(['deliveries', 'replay', '-c', file, await put(driver, delivery('orders'), 'dead')]);
    expect(ok).toMatchObject({ code: 0, stderr: '' });
  });

  it('replays every dead delivery of a route', async () => {
    const a = await put(driver, delivery('orders'), 'dead');
    const b = await put(driver, delivery('orders'), 'dead');
    const other = await put(driver, delivery('invoices'), 'dead');
    const result = await cli([
      'deliveries',
      'replay',
      '--route',
      'orders',
      '--status',
      'dead',
      '--yes',
      '-c',
      file,
    ]);
    expect(result).toEqual({
      code: 0,
      stdout:
        'replayed 2 dead deliveries of route orders; a running relay delivers them within its poll interval\n',
      stderr: '',
    });
    for (const id of [a, b]) expect((await driver.get(id))!.record.status).toBe('pending');
    expect((await driver.get(other))!.record.status).toBe('dead');
    const again = await cli(['deliveries', 'replay', '--status', 'dead', '-c', file, '--json']);
    expect(JSON.parse(again.stdout)).toEqual({ matched: 1, replayed: 1 });
  });

  it('replays by code, last status and a createdAt window; --dry-run only counts', async () => {
    const t0 = Date.now() - 3 * 3_600_000;
    const dead = async (routeId: string, at: number, failure: { code?: string; status?: number }) => {
      const d = delivery(routeId, {}, at);
      await driver.enqueue(d);
      await driver.lease(routeId, 1000, 30_000, Date.now() + 1);
      await driver.dead(d.id, {
        reason: 'max attempts (1) reached',
        attempt: { at, durationMs: 5, status: failure.status, error: 'failed', code: failure.code },
      });
      return d.id;
    };
    const old = await dead('orders', t0, { code: TIMEOUT });
    const a = await dead('orders', Date.now() - 90 * 60_000, { code: TIMEOUT });
    const b = await dead('orders', Date.now() - 80 * 60_000, { code: TIMEOUT });
    const refused = await dead('orders', Date.now() - 70 * 60_000, { code: UNREACHABLE });
    const answered = await dead('orders', Date.now() - 60 * 60_000, { status: 503 });
    const other = await dead('invoices', Date.now() - 60 * 60_000, { code: TIMEOUT });
    const filter = ['--status', 'dead', '--route', 'orders', '--code', TIMEOUT, '--since', '2h'];

    const dry = await cli(['deliveries', 'replay', ...filter, '--dry-run', '-c', file]);
    expect(dry).toMatchObject({ code: 0, stderr: '' });
    expect(dry.stdout).toMatch(
      /^2 dead deliveries of route orders with code HOOKRELAY_ERR_UPSTREAM_TIMEOUT, created since .*Z match; nothing replayed \(--dry-run\)\n$/,
    );
    const dryJson = await cli(['deliveries', 'replay', ...filter, '--dry-run', '--json', '-c', file]);
    expect(JSON.parse(dryJson.stdout)).toEqual({ matched: 2, replayed: 0 });

    // Not a terminal: more than one match needs --yes.
    const refusedRun = await cli(['deliveries', 'replay', ...filter, '-c', file]);
    expect(refusedRun.code).toBe(2);
    expect(refusedRun.stderr).toContain('2 dead deliveries of route orders');
    expect(refusedRun.stderr).toContain('pass --yes');
    for (const id of [old, a, b, refused, answered, other])
      expect((await driver.get(id))!.record.status).toBe('dead');

    const run = await cli(['deliveries', 'replay', ...filter, '--yes', '--json', '-c', file]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(run.stdout)).toEqual({ matched: 2, replayed: 2 });
    for (const id of [a, b]) expect((await driver.get(id))!.record.status).toBe('pending');
    for (const id of [old, refused, answered, other])
      expect((await driver.get(id))!.record.status).toBe('dead');

    // One match needs no --yes.
    const until = new Date(Date.now() - 65 * 60_000).toISOString();
    const one = await cli(['deliveries', 'replay', '--status', 'dead', '--last-status', '503', '-c', file]);
    expect(one).toMatchObject({ code: 0, stderr: '' });
    expect(one.stdout).toMatch(/^replayed 1 dead delivery with last status 503; a running relay delivers it/);
    const listed = await cli([
      'deliveries',
      'list',
      '--status',
      'dead',
      '--until',
      until,
      '--json',
      '-c',
      file,
    ]);
    expect(JSON.parse(listed.stdout).deliveries.map((d: { id: string }) => d.id)).toEqual([old, refused]);
    const byCode = await cli(['deliveries', 'list', '--code', UNREACHABLE, '--json', '-c', file]);
    expect(JSON.parse(byCode.stdout).deliveries).toMatchObject([{ id: refused, lastCode: UNREACHABLE }]);
  });

  // On a terminal (script(1) gives the CLI one): the confirmation is asked, progress is one line.
  it.skipIf(!existsSync('/usr/bin/script'))(
    'on a terminal asks before replaying more than one, and updates one progress line',
    async () => {
      const at = Date.now() - 60_000;
      const made = Array.from({ length: 250 }, (_, i) => delivery('orders', {}, at + i));
      await Promise.all(made.map((d) => driver.enqueue(d)));
      await driver.lease('orders', 1000, 30_000, Date.now() + 1);
      await Promise.all(made.map((d) => driver.dead(d.id, { reason: 'x' })));
      const onTerminal = (answer: string) =>
        new Promise<string>((done) => {
          const command = [
            process.execPath,
            'src/main.ts',
            'deliveries',
            'replay',
            '--status',
            'dead',
            '-c',
            file,
          ]
            .map((arg) => `'${arg}'`)
            .join(' ');
          const child = execFile(
            '/usr/bin/script',
            ['-qec', `${command}; echo "exit=$?"`, '/dev/null'],
            { cwd: ROOT, timeout: 15_000 },
            (_error, stdout) => done(stdout.replaceAll('\r', '')),
          );
          child.stdin!.end(answer);
        });
      const declined = await onTerminal('n\n');
      expect(declined).toContain('replay 250 dead deliveries? [y/N]');
      expect(declined).toContain('not confirmed; nothing replayed');
      expect(declined).toContain('exit=1');
      expect(await driver.count({ status: 'dead' })).toBe(250);
      const confirmed = await onTerminal('y\n');
      expect(confirmed).toContain('replayed 200/250replayed 250/250\n');
      expect(confirmed).toContain('replayed 250 dead deliveries;');
      expect(confirmed).toContain('exit=0');
      expect(await driver.count({ status: 'pending' })).toBe(250);
    },
    30_000,
  );

  it('replays in batches, with a progress line per batch on stderr when not a terminal', async () => {
    const at = Date.now() - 60_000;
    const made = Array.from({ length: 450 }, (_, i) => delivery('orders', {}, at + i));
    await Promise.all(made.map((d) => driver.enqueue(d)));
    await driver.lease('orders', 1000, 30_000, Date.now() + 1);
    await Promise.all(made.map((d) => driver.dead(d.id, { reason: 'x' })));
    const result = await cli(['deliveries', 'replay', '--status', 'dead', '--yes', '-c', file]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('replayed 200/450\nreplayed 400/450\nreplayed 450/450\n');
    expect(result.stdout).toMatch(/^replayed 450 dead deliveries;/);
    expect(await driver.count({ status: 'pending' })).toBe(450);
  });
});

describe('purge', () => {
  it('deletes finished deliveries older than the age given', async () => {
    const delivered = await put(driver, delivery('orders'), 'delivered');
    const other = await put(driver, delivery('invoices'), 'delivered');
    const dead = await put(driver, delivery('orders'), 'dead');
    const pending = await put(driver, delivery('orders'));
    const young = await cli([
      'deliveries',
      'purge',
      '--status',
      'delivered',
      '--older-than',
      '7d',
      '-c',
      file,
    ]);
    expect(young).toEqual({ code: 0, stdout: 'purged 0 delivered deliveries older than 7d\n', stderr: '' });
    expect(await driver.get(delivered)).toBeDefined();
    // Everything last changed before now (the child starts well after the writes above).
    const result = await cli([
      'deliveries',
      'purge',
      '-s',
      'delivered',
      '--older-than',
      '0s',
      '-r',
      'orders',
      '-c',
      file,
    ]);
    expect(result).toEqual({
      code: 0,
      stdout: 'purged 1 delivered delivery of route orders older than 0s\n',
      stderr: '',
    });
    expect(await driver.get(delivered)).toBeUndefined();
    expect(await driver.get(other)).toBeDefined();
    expect(await driver.get(dead)).toBeDefined();
    expect(await driver.get(pending)).toBeDefined();
  });
});

describe('usage and errors', () => {
  it('exits 2 on usage errors, naming the problem', async () => {
    const cases: [string[], string][] = [
      [[], 'a command is required'],
      [['lst'], "unknown command 'lst'"],
      [['list', '--status', 'lost'], '--status must be one of pending, inflight, dead, delivered'],
      [['list', '--limit', '0'], '--limit must be a positive integer'],
      [['list', 'extra'], "'list' takes no arguments"],
      [['list', '--older-than', '1d'], "--older-than does not apply to 'list'"],
      [['show'], "'show' takes exactly one delivery id"],
      [['replay'], "'replay' needs delivery ids"],
      [['replay', 'x', '--status', 'dead'], 'not both'],
      [['replay', 'x', '--dry-run'], 'not both (got --dry-run)'],
      [['replay', '--status', 'dead', '--since', 'soon'], '--since must be an ISO 8601 time'],
      [['list', '--until', '2026-13-45'], '--until must be an ISO 8601 time'],
      [['list', '--last-status', '700'], '--last-status must be an HTTP status'],
      [['list', '--dry-run'], "--dry-run does not apply to 'list'"],
      [['show', 'x', '--code', 'C'], "--code does not apply to 'show'"],
      [['replay', '--status', 'pending'], "'replay --status' takes dead or delivered"],
      [['purge', '--older-than', '7d'], "'purge' needs --status delivered or --status dead"],
      [
        ['purge', '--status', 'pending', '--older-than', '7d'],
        "'purge' needs --status delivered or --status dead",
      ],
      [['purge', '--status', 'dead'], "'purge' needs --older-than"],
      [['purge', '--status', 'dead', '--older-than', 'soon'], "invalid duration 'soon'"],
      [['list', '--bogus'], "Unknown option '--bogus'"],
    ];
    // A few at a time: many Node processes at once on a loaded machine would hit the child timeout.
    const results: Result[] = [];
    for (let i = 0; i < cases.length; i += 4) {
      const batch = cases.slice(i, i + 4).map(([args]) => cli(['deliveries', ...args, '-c', file]));
      results.push(...(await Promise.all(batch)));
    }
    for (const [i, [args, message]] of cases.entries()) {
      const result = results[i]!;
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toContain(`hookrelay deliveries: `);
      expect(result.stderr, args.join(' ')).toContain(message);
      expect(result.stderr).toContain('Usage: hookrelay deliveries');
    }
  }, 90_000);

  it('--help prints the usage; the main help lists the command', async () => {
    const help = await cli(['deliveries', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: hookrelay deliveries <command>');
    expect(help.stdout).toContain('purge --status delivered|dead --older-than AGE');
    expect((await cli(['--help'])).stdout).toContain('hookrelay deliveries list|show|replay|purge');
  });

  it('with driver: memory, explains there is nothing to inspect', async () => {
    const memory = config('  driver: memory');
    const result = await cli(['deliveries', 'list', '-c', memory]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('uses queue.driver: memory');
    expect(result.stderr).toContain('nothing here to inspect');
  });

  it('without a queue file, says where it looked and creates nothing', async () => {
    const missing = join(dir, 'never-started', 'hookrelay.db');
    const result = await cli(['deliveries', 'list', '-c', config(`  path: ${missing}`)]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`no queue file at ${missing}`);
    expect(existsSync(missing)).toBe(false);
  });

  it("needs none of the relay's secrets, except in the queue section", async () => {
    const withSecrets = join(dir, 'secrets.yaml');
    writeFileSync(
      withSecrets,
      `queue:
  path: ${db}
admin:
  token: \${UNSET_ADMIN_TOKEN_FOR_TEST}
routes:
  - id: orders
    path: /in/orders
    delivery: async
    forward:
      url: "http://127.0.0.1:9/orders"
      auth: { type: bearer, token: "\${UNSET_TARGET_TOKEN_FOR_TEST}" }
`,
    );
    await put(driver, delivery('orders'), 'dead');
    const result = await cli(['deliveries', 'list', '-c', withSecrets, '--status', 'dead']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(' orders ');

    const queueSecret = config('  path: ${UNSET_QUEUE_PATH_FOR_TEST}');
    const refused = await cli(['deliveries', 'list', '-c', queueSecret]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      "queue.path: environment variable 'UNSET_QUEUE_PATH_FOR_TEST' is not set [HOOKRELAY_CONFIG_ENV_NOT_SET]",
    );
  });

  it('an invalid config exits 1 with its errors', async () => {
    const bad = config('  drivr: sqlite');
    const result = await cli(['deliveries', 'list', '-c', bad]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("queue.drivr: unknown key 'drivr'");
  });
});
