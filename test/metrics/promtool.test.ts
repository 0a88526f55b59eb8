import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/telemetry/log.ts';
import { createMetrics, REDUNDANT_DEFAULT_METRICS } from '../../src/telemetry/metrics.ts';
import { refusedPort, startTarget, type Target } from '../helpers.ts';
import { requireTool } from '../support/system-tools.ts';

/**
 * `/metrics` must pass `promtool check metrics` (Debian package `prometheus`; `.ci/run` installs it).
 * Without promtool these tests are skipped, saying so, except under CI, where they fail.
 * The relay here is built as in production: default process metrics on, which startRelay turns off.
 */

const PROMTOOL = requireTool({
  name: 'promtool',
  env: 'PROMTOOL',
  install: 'install it with `apt-get install -y prometheus` (Debian), or run `.ci/run`, which does',
});

function promtool(args: string[], input?: string) {
  const result = spawnSync(PROMTOOL!, args, { input, encoding: 'utf8', timeout: 30_000 });
  if (result.error) throw result.error;
  return result;
}

it('prom-client gauges named `_total` are left out (promtool rejects them)', async () => {
  const text = await createMetrics({ version: 'test' }).registry.metrics();
  for (const name of REDUNDANT_DEFAULT_METRICS) expect(text).not.toContain(`${name} `);
  expect(text).toContain('# TYPE nodejs_active_handles gauge');
});

describe.skipIf(PROMTOOL === undefined)('promtool check metrics', () => {
  let target: Target;
  let app: App;
  let url: string;

  beforeAll(async () => {
    let calls = 0;
    target = await startTarget((req, res) => {
      calls++;
      if (req.url.startsWith('/flaky') && calls % 2 === 1) {
        res.statusCode = 503;
        res.setHeader('retry-after', '0');
      } else if (req.url.startsWith('/reject')) res.statusCode = 400;
      res.end('{}');
    });
    const dead = await refusedPort();
    const config = parseConfig(
      `
server: { host: 127.0.0.1, port: 0 }
routes:
  - id: orders
    path: /in/:tenant/orders
    forward: { url: "${target.url}/flaky/{tenant}" }
    retry: { minDelay: 1ms, maxDelay: 10ms }
    limits: { body: 16b }
  - id: rejected
    path: /reject
    forward: { url: "${target.url}/reject" }
  - id: down
    path: /down
    forward: { url: "http://127.0.0.1:${dead}/" }
    retry: { attempts: 2, minDelay: 1ms, maxDelay: 5ms }
  - id: echo
    path: /echo
    methods: [POST, GET]
    echo: true
`,
      'promtool.yaml',
      { env: {} },
    );
    app = createApp(config, { logger: createLogger('silent') });
    const address = await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${address.port}`;
    const send = async (path: string, init: RequestInit = { method: 'POST', body: '{}' }) =>
      (await fetch(`${url}${path}`, init)).arrayBuffer();
    for (let i = 0; i < 3; i++) await send('/in/acme/orders');
    await send('/in/acme/orders', { method: 'POST', body: 'x'.repeat(64) });
    await send('/in/acme/orders', { method: 'PATCH', body: '{}' });
    await send('/reject');
    await send('/down');
    await send('/echo', { method: 'GET' });
    await send('/nowhere');
  });
  afterAll(async () => {
    await app?.stop(1_000);
    await target?.close();
  });

  it('passes with default process metrics on, after traffic', async () => {
    const res = await fetch(`${url}/metrics`);
    const text = await res.text();
    // Sanity: this is the full production output, not a reduced one.
    expect(text).toContain('process_cpu_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    expect(text).toContain('hookrelay_forward_retries_total{route="orders"}');
    expect(text).toContain('outcome="network_error"');
    expect(text).toContain('result="rejected"');

    const result = promtool(['check', 'metrics'], text);
    expect(`${result.stdout}${result.stderr}`.trim()).toBe('');
    expect(result.status).toBe(0);
  });

  it('passes for a fresh registry before any traffic', async () => {
    const metrics = createMetrics({ version: 'test', defaultMetrics: true });
    const result = promtool(['check', 'metrics'], await metrics.registry.metrics());
    expect(`${result.stdout}${result.stderr}`.trim()).toBe('');
    expect(result.status).toBe(0);
  });

  it('the check is real: promtool rejects a malformed exposition', () => {
    const result = promtool(['check', 'metrics'], '# TYPE bad_total gauge\nbad_total 1\n');
    expect(result.status).not.toBe(0);
  });
});
