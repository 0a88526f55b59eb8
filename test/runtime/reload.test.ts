import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ConfigView, ReloadReport } from '../../src/admin/live.ts';
import type { StatsView } from '../../src/present/view.ts';
import { sample, startTarget, type Target } from '../helpers.ts';
import { type Child, childProcesses, type Log } from '../support/child.ts';

/**
 * Hot reload of a real `hookrelay start` child: SIGHUP, `POST /reload` and the directory watch
 * swap the configuration for new requests while requests in flight finish on the old one; an
 * invalid file changes nothing; queued deliveries of a route removed and added back are not lost.
 */

const children = childProcesses();
const dir = mkdtempSync(join(tmpdir(), 'hookrelay-reload-'));
afterAll(() => {
  children.removeDir();
  rmSync(dir, { recursive: true, force: true });
});
const targets: Target[] = [];
afterEach(async () => {
  children.cleanup();
  for (const target of targets.splice(0)) await target.close();
});

/** A target that answers `{"target": name}`, after `hold` ms when the body asks to be held. */
async function namedTarget(name: string, hold = 0) {
  const target = await startTarget(async (req, res) => {
    if (req.body.toString().includes('hold')) await sleep(hold);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ target: name }));
  });
  targets.push(target);
  return target;
}

let files = 0;
/** Writes `yaml` to `path` the way editors and `git pull` do: a temp file renamed over it. */
function replaceByRename(path: string, yaml: string): void {
  const temp = join(dir, `.tmp-${files++}`);
  writeFileSync(temp, yaml);
  renameSync(temp, path);
}

const syncConfig = (url: string, extra = '') => `
server: { host: 127.0.0.1, port: 0, shutdownGrace: 10s${extra} }
admin: { enabled: true, port: 0 }
routes:
  - id: orders
    path: /in/orders
    forward: { url: ${url}/hook }
`;

const post = (url: string, body = '{"order":1}', dispatcher?: Agent) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    dispatcher,
  } as RequestInit);

function adminUrl(child: Child): string {
  const line = child.logs.find((log) => log.msg === 'admin API listening');
  return `http://127.0.0.1:${line!.port as number}`;
}

/** The `nth` reload by `trigger` the child logged. */
const reloaded = (child: Child, trigger: string, nth = 1) => {
  const matches = (log: Log) => log.msg === 'configuration reloaded' && log.trigger === trigger;
  return child.waitForLog((log) => matches(log) && child.logs.filter(matches).indexOf(log) === nth - 1);
};

async function metric(child: Child, name: string, labels: Record<string, string> = {}) {
  const text = await (await fetch(`${child.url}/metrics`)).text();
  return sample(text, name, labels);
}

describe('reload', () => {
  it('SIGHUP after a rename: the held request finishes on the old config, the next uses the new one', async () => {
    const a = await namedTarget('a', 1_500);
    const b = await namedTarget('b');
    const file = join(dir, 'sighup.yaml');
    writeFileSync(file, syncConfig(a.url));
    const child = await children.start(['start', '-c', file]);
    const held = post(`${child.url}/in/orders`, '{"hold":true}');
    await expect.poll(() => a.received.length).toBe(1);
    replaceByRename(file, syncConfig(b.url));
    child.process.kill('SIGHUP');
    const log = await reloaded(child, 'signal');
    expect(log.routes).toEqual({ added: [], removed: [], changed: ['orders'] });
    const next = await post(`${child.url}/in/orders`);
    expect(await next.json()).toEqual({ target: 'b' });
    const first = await held;
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ target: 'a' });
    expect(b.received).toHaveLength(1);
    expect(await metric(child, 'hookrelay_config_reloads_total', { result: 'applied' })).toBe(1);
    const info = (await (await fetch(`${adminUrl(child)}/config`)).json()) as ConfigView;
    expect(info.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(await metric(child, 'hookrelay_config_info', { hash: info.hash.slice(0, 12) })).toBe(1);
    expect(info.lastReload).toMatchObject({ result: 'applied', trigger: 'signal', hash: info.hash });
  }, 30_000);

  it('refuses an invalid file with every error located; the old config keeps serving', async () => {
    const a = await namedTarget('a');
    const file = join(dir, 'invalid.yaml');
    writeFileSync(file, syncConfig(a.url));
    const child = await children.start(['start', '-c', file]);
    const admin = adminUrl(child);
    const before = ((await (await fetch(`${admin}/config`)).json()) as ConfigView).hash;
    replaceByRename(
      file,
      `${syncConfig(a.url)}  - id: broken\n    path: /in/broken\n    forward: { url: not-a-url }\n    retyr: 3\n`,
    );
    const answer = await fetch(`${admin}/reload`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(answer.status).toBe(422);
    const report = (await answer.json()) as ReloadReport;
    expect(report).toMatchObject({ result: 'refused', trigger: 'api', hash: before });
    expect(report.errors.length).toBeGreaterThanOrEqual(2);
    for (const error of report.errors) expect(error).toMatch(/invalid\.yaml:\d+:\d+: routes\[1\]\./);
    child.process.kill('SIGHUP');
    const refused = await child.waitForLog(
      (log) =>
        log.msg?.toString().startsWith('configuration reload refused') === true && log.trigger === 'signal',
    );
    expect(refused.errors).toEqual(report.errors);
    expect(await (await post(`${child.url}/in/orders`)).json()).toEqual({ target: 'a' });
    const missing = await post(`${child.url}/in/broken`);
    expect(missing.status).toBe(404);
    expect(JSON.stringify(await missing.json())).toContain('HOOKRELAY_ERR_ROUTE_NOT_FOUND');
    expect(await metric(child, 'hookrelay_config_reloads_total', { result: 'refused' })).toBe(2);
    expect(((await (await fetch(`${admin}/config`)).json()) as ConfigView).hash).toBe(before);
  }, 30_000);

  it('reports settings that need a restart and keeps them as they were', async () => {
    const a = await namedTarget('a');
    const file = join(dir, 'restart.yaml');
    writeFileSync(file, syncConfig(a.url));
    const child = await children.start(['start', '-c', file]);
    replaceByRename(
      file,
      syncConfig(a.url, ', requestTimeout: 30s')
        .replace('port: 0,', 'port: 1,')
        .replace(
          'admin: { enabled: true, port: 0 }',
          'admin: { enabled: true, port: 0, host: localhost }\nmetrics: { path: /m }',
        ),
    );
    const report = (await (
      await fetch(`${adminUrl(child)}/reload`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      })
    ).json()) as ReloadReport;
    expect(report).toMatchObject({ result: 'applied', errors: [] });
    expect(report.restartRequired).toEqual([
      'admin.host',
      'metrics.path',
      'server.port',
      'server.requestTimeout',
    ]);
    await child.waitForLog(
      (log) => log.msg === 'configuration reload: these settings take effect only after a restart',
    );
    // Still on the port and metrics path it started with.
    expect(await metric(child, 'hookrelay_config_reloads_total', { result: 'applied' })).toBe(1);
  }, 30_000);

  it('a removed and re-added async route loses no delivery', async () => {
    let open = false;
    const target = await startTarget((_req, res) => {
      res.statusCode = open ? 200 : 503;
      res.end();
    });
    targets.push(target);
    const file = join(dir, 'async.yaml');
    const queueFile = join(dir, 'async-queue.db');
    const withRoute = `
server: { host: 127.0.0.1, port: 0 }
admin: { port: 0 }
queue: { path: ${queueFile} }
routes:
  - id: keep
    path: /in/keep
    forward: { url: ${target.url}/keep }
  - id: events
    path: /in/events
    delivery: async
    queue: { minDelay: 100ms, maxDelay: 200ms, maxAttempts: 100 }
    forward: { url: ${target.url}/events }
`;
    const withoutRoute = withRoute.slice(0, withRoute.indexOf('  - id: events'));
    writeFileSync(file, withRoute);
    const child = await children.start(['start', '-c', file]);
    for (let i = 0; i < 5; i++) expect((await post(`${child.url}/in/events`, `{"n":${i}}`)).status).toBe(202);
    await expect
      .poll(() => target.received.filter((r) => r.url === '/events').length)
      .toBeGreaterThanOrEqual(5);
    replaceByRename(file, withoutRoute);
    child.process.kill('SIGHUP');
    await reloaded(child, 'signal');
    await sleep(300); // attempts in flight at the swap finish
    open = true;
    const seen = target.received.length;
    await sleep(800);
    // Nothing delivers a removed route's deliveries: they wait in the store.
    expect(target.received.slice(seen).filter((r) => r.url === '/events')).toHaveLength(0);
    const stats = (await (await fetch(`${adminUrl(child)}/queue/stats`)).json()) as StatsView;
    expect(stats.routes.events.pending.count).toBe(5);
    replaceByRename(file, withRoute);
    child.process.kill('SIGHUP');
    await reloaded(child, 'signal', 2);
    await expect
      .poll(
        async () =>
          ((await (await fetch(`${adminUrl(child)}/queue/stats`)).json()) as StatsView).routes.events!
            .delivered.count,
        {
          timeout: 10_000,
        },
      )
      .toBe(5);
    const bodies = target.received
      .filter((r) => r.url === '/events' && r.body.length > 0)
      .map((r) => r.body.toString());
    for (let i = 0; i < 5; i++) expect(bodies).toContain(`{"n":${i}}`);
  }, 30_000);

  it('server.watchConfig: a rename-replace and a symlink swap both reload; a touch does not', async () => {
    const a = await namedTarget('a');
    const b = await namedTarget('b');
    const c = await namedTarget('c');
    const data1 = join(dir, 'data1');
    const data2 = join(dir, 'data2');
    mkdirSync(data1);
    mkdirSync(data2);
    const watch = ', watchConfig: true';
    writeFileSync(join(data1, 'config.yaml'), syncConfig(a.url, watch));
    writeFileSync(join(data2, 'config.yaml'), syncConfig(c.url, watch));
    // As a Kubernetes ConfigMap mounts it: config.yaml → ..data/config.yaml, ..data → a dated directory.
    const mount = join(dir, 'mount');
    mkdirSync(mount);
    symlinkSync(data1, join(mount, '..data'));
    symlinkSync(join('..data', 'config.yaml'), join(mount, 'config.yaml'));
    const file = join(mount, 'config.yaml');
    const child = await children.start(['start', '-c', file]);
    await child.waitForLog((log) => log.msg === 'watching the configuration for changes');
    // Same content written again: no reload.
    replaceByRename(join(data1, 'config.yaml'), syncConfig(a.url, watch));
    await sleep(600);
    expect(child.logs.filter((log) => log.msg === 'configuration reloaded')).toHaveLength(0);
    replaceByRename(join(data1, 'config.yaml'), syncConfig(b.url, watch));
    await reloaded(child, 'watch');
    expect(await (await post(`${child.url}/in/orders`)).json()).toEqual({ target: 'b' });
    // The ConfigMap update: a new ..data link renamed over the old one.
    symlinkSync(data2, join(mount, '..data-new'));
    renameSync(join(mount, '..data-new'), join(mount, '..data'));
    await reloaded(child, 'watch', 2);
    expect(await (await post(`${child.url}/in/orders`)).json()).toEqual({ target: 'c' });
    // A reload that turns the watch off: later changes wait for a signal.
    replaceByRename(join(data2, 'config.yaml'), syncConfig(a.url));
    await reloaded(child, 'watch', 3);
    await child.waitForLog((log) => log.msg === 'no longer watching the configuration');
    replaceByRename(join(data2, 'config.yaml'), syncConfig(b.url));
    await sleep(600);
    expect(await (await post(`${child.url}/in/orders`)).json()).toEqual({ target: 'a' });
  }, 30_000);

  it('50 reloads under load drop no request: no 5xx, no reset', async () => {
    const a = await namedTarget('a');
    const b = await namedTarget('b');
    const file = join(dir, 'load.yaml');
    writeFileSync(file, syncConfig(a.url));
    const child = await children.start(['start', '-c', file]);
    const admin = adminUrl(child);
    const agent = new Agent({ connections: 8, pipelining: 1 });
    let stop = false;
    const statuses: number[] = [];
    const failures: string[] = [];
    const worker = async () => {
      for (let i = 0; i < 2_000 && !stop; i++) {
        try {
          const res = await post(`${child.url}/in/orders`, '{"order":1}', agent);
          statuses.push(res.status);
          await res.arrayBuffer();
        } catch (error) {
          failures.push(String((error as Error).cause ?? error));
        }
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, worker));
    const results: string[] = [];
    for (let i = 0; i < 50; i++) {
      replaceByRename(file, syncConfig(i % 2 === 0 ? b.url : a.url));
      const res = await fetch(`${admin}/reload`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      });
      results.push(((await res.json()) as ReloadReport).result);
      await sleep(20);
    }
    stop = true;
    await load;
    await agent.close();
    expect(results.filter((r) => r === 'applied')).toHaveLength(50);
    expect(failures).toEqual([]);
    expect(statuses.length).toBeGreaterThan(100);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(a.received.length).toBeGreaterThan(0);
    expect(b.received.length).toBeGreaterThan(0);
  }, 60_000);
});
