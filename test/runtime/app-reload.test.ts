import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ConfigView, RouteView } from '../../src/admin/live.ts';
import { type App, createApp } from '../../src/app.ts';
import { loadConfigFile, parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/telemetry/log.ts';
import { startTarget, type Target } from '../helpers.ts';

/** Reload in process: what the admin listener says about it, and what a reload may open. */

const dir = mkdtempSync(join(tmpdir(), 'hookrelay-app-reload-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const apps: App[] = [];
const targets: Target[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.stop(100);
  for (const target of targets.splice(0)) await target.close();
});

const logger = createLogger('silent');

async function start(file: string): Promise<{ app: App; url: string }> {
  const app = createApp(loadConfigFile(file, { env: { CRM_TOKEN: 'tok-9f8e7d6c5b4a' } }), {
    logger,
    file,
    defaultMetrics: false,
  });
  apps.push(app);
  const address = await app.listen(0, '127.0.0.1');
  return { app, url: `http://127.0.0.1:${address.port}` };
}

const adminOf = (app: App) => `http://127.0.0.1:${(app.admin!.address() as AddressInfo).port}`;

describe('reload in process', () => {
  it('refuses when the relay was built from an object, not a file', async () => {
    const yaml = 'routes:\n  - id: a\n    path: /a\n    forward: { url: http://127.0.0.1:9/a }\n';
    const app = createApp(parseConfig(yaml, 'c.yaml'), { logger, defaultMetrics: false });
    apps.push(app);
    const report = await app.reload('api');
    expect(report).toMatchObject({
      result: 'refused',
      errors: [expect.stringContaining('no configuration file')],
    });
  });

  it('GET /routes lists targets (secrets redacted) and circuits; a reload that adds the first async route opens the queue', async () => {
    const target = await startTarget();
    targets.push(target);
    const file = join(dir, 'routes.yaml');
    writeFileSync(
      file,
      `
admin: { enabled: true, port: 0 }
routes:
  - id: crm
    path: /in/crm/:tenant
    forward: { url: '${target.url}/crm/{tenant}?key=\${CRM_TOKEN}' }
`,
    );
    const { app, url } = await start(file);
    expect(app.queue).toBeUndefined();
    const admin = adminOf(app);
    const text = await (await fetch(`${admin}/routes`)).text();
    expect(text).not.toContain('tok-9f8e7d6c5b4a');
    const { routes } = JSON.parse(text) as { routes: RouteView[] };
    expect(JSON.parse(JSON.stringify(routes))).toEqual([
      {
        id: 'crm',
        delivery: 'sync',
        methods: ['POST'],
        path: '/in/crm/:tenant',
        targets: [{ name: 'crm', url: `${target.url}/crm/{tenant}`, queueId: undefined }].map(
          ({ queueId: _q, ...rest }) => rest,
        ),
        circuits: {},
      },
    ]);
    const before = (await (await fetch(`${admin}/config`)).json()) as ConfigView;
    expect(before).toMatchObject({ file, lastReload: null });
    writeFileSync(
      file,
      `
admin: { enabled: true, port: 0 }
queue: { driver: memory }
routes:
  - id: events
    path: /in/events
    delivery: async
    queue: { circuitBreaker: { failures: 3, cooldown: 30s } }
    forward: { url: ${target.url}/events }
`,
    );
    const answer = await fetch(`${admin}/reload`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({
      result: 'applied',
      routes: { added: ['events'], removed: ['crm'] },
    });
    expect(app.queue).toBeDefined();
    const accepted = await fetch(`${url}/in/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"e":1}',
    });
    expect(accepted.status).toBe(202);
    await expect.poll(() => target.received.filter((r) => r.url === '/events').length).toBe(1);
    const after = (await (await fetch(`${admin}/routes`)).json()) as { routes: RouteView[] };
    expect(after.routes[0]).toMatchObject({
      id: 'events',
      delivery: 'async',
      circuits: { events: 'closed' },
    });
    const config = (await (await fetch(`${admin}/config`)).json()) as ConfigView;
    expect(config.hash).not.toBe(before.hash);
    expect(config.lastReload).toMatchObject({ result: 'applied', trigger: 'api', hash: config.hash });
  });

  it('admin.enabled auto: the admin listener opens with the first queued route a reload adds', async () => {
    const target = await startTarget();
    targets.push(target);
    const file = join(dir, 'auto.yaml');
    const sync = `routes:\n  - id: a\n    path: /a\n    forward: { url: ${target.url}/a }\n`;
    writeFileSync(file, `admin: { port: 0 }\n${sync}`);
    const { app } = await start(file);
    expect(app.admin).toBeUndefined();
    writeFileSync(
      file,
      `admin: { port: 0 }\nqueue: { driver: memory }\n${sync}  - id: q\n    path: /q\n    delivery: async\n    forward: { url: ${target.url}/q }\n`,
    );
    const report = await app.reload('signal');
    expect(report.result).toBe('applied');
    // No queue was open: the first one is opened with these settings, nothing waits for a restart.
    expect(report.restartRequired).toEqual([]);
    expect(app.admin?.listening).toBe(true);
    const stats = await fetch(`${adminOf(app)}/queue/stats`);
    expect(stats.status).toBe(200);
  });
});
