import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, sample, startRelay, startTarget, type Target } from '../helpers.ts';
import { cli, declaredJson, documentedCommand, example } from './support.ts';

/** config/examples/legacy-get-callback.yaml: a GET callback with a query string to a JSON POST. */
const ex = example('legacy-get-callback');
const TOKEN = 'orders-api-s3cret';
const QUERY = ex.fixture('request.query').toString('utf8');

describe('legacy-get-callback', () => {
  let target: Target | undefined;
  let relay: Relay | undefined;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
    relay = undefined;
    target = undefined;
  });

  async function start() {
    target = await startTarget((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"updated":true}');
    });
    relay = await startRelay(ex.source, { ORDERS_API_URL: target.url, ORDERS_API_TOKEN: TOKEN });
    return relay;
  }

  it('POSTs the query fields as JSON, without the query string, and answers OK', async () => {
    const { url, logs } = await start();
    const res = await fetch(`${url}/legacy/berlin/shipment?${QUERY}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain');
    expect(await res.text()).toBe('OK\n');

    expect(target!.received).toHaveLength(1);
    const got = target!.received[0]!;
    expect(got.method).toBe('POST');
    // passQuery: false — the legacy key in the query string never reaches the API.
    expect(got.url).toBe('/api/shipment-updates');
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(JSON.parse(got.body.toString('utf8'))).toEqual(ex.expected);
    expect(got.body.toString('utf8')).not.toContain('legacy-shared-secret');
    expect(JSON.stringify(logs)).not.toContain(TOKEN);
  });

  it('a callback without an order number: 422, nothing forwarded', async () => {
    const { url } = await start();
    const res = await fetch(`${url}/legacy/berlin/shipment?status=shipped`);
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: string; message: string };
    expect(body.error).toBe('HOOKRELAY_ERR_TRANSFORM_FAILED');
    expect(body.message).toMatch(/^transform\[1\] \(map\): /);
    expect(target!.received).toHaveLength(0);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(
      sample(metrics, 'hookrelay_transform_errors_total', { route: 'warehouse-shipments', step: '1-map' }),
    ).toBe(1);
  });

  it('the fixture and the test case in the YAML describe the same call and body', () => {
    expect(declaredJson(ex, { ORDERS_API_TOKEN: 'x' }, 'the query string becomes a JSON POST')).toEqual(
      ex.expected,
    );
    expect(ex.source).toContain(`query: ${QUERY}\n`);
  });

  it('`# Check:` runs the tests declared in the file, and they pass', async () => {
    const { env, args } = documentedCommand(ex, 'Check');
    const result = await cli(args, env);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^3 passed, 0 failed$/m);
    expect(result.code).toBe(0);
  });

  it('`# Try:` prints the POST that would be sent and no token', async () => {
    const { env, args } = documentedCommand(ex, 'Try');
    expect(args).toContain(QUERY);
    const result = await cli(args, { ...env, ORDERS_API_TOKEN: TOKEN });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^POST https:\/\/orders\.example\.com\/api\/shipment-updates\n/);
    expect(result.stdout).toContain('authorization: Bearer <redacted>\n');
    expect(result.stdout).toContain(`\n${JSON.stringify(ex.expected, null, 2)}\n`);
    expect(result.stdout).toContain('\nOK\n');
    expect(result.stdout).not.toContain(TOKEN);
    expect(result.stdout).not.toContain('legacy-shared-secret');
  });
});
