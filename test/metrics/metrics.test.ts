import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../../src/core/version.ts';
import { METRIC_DEFINITIONS, NO_ROUTE } from '../../src/telemetry/metrics.ts';
import { type Relay, refusedPort, sample, startRelay, startTarget, type Target } from '../helpers.ts';

/** Exact metric values after a known sequence of requests, and labels that never carry caller input. */

const random = () => `zz${randomBytes(8).toString('hex')}`;

async function post(url: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

/** A request with an arbitrary method (fetch refuses some), answered status. */
function raw(url: string, method: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('metric values after known traffic', () => {
  let target: Target;
  let relay: Relay;
  let text: string;
  const statuses: number[] = [];

  beforeAll(async () => {
    // The third request the target sees is answered 503 once; the retry that follows succeeds.
    target = await startTarget((_req, res, index) => {
      res.statusCode = index === 2 ? 503 : 200;
      res.setHeader('content-type', 'application/json');
      res.end(index === 2 ? '{"busy":true}' : '{"ok":true}');
    });
    relay = await startRelay(`
routes:
  - id: orders
    path: /in/:tenant/orders
    methods: [POST]
    forward:
      url: ${target.url}/orders/{tenant}
    retry: { attempts: 3, minDelay: 10ms, maxDelay: 50ms, jitter: false }
    limits: { body: 64b }
  - id: idle
    path: /idle
    echo: true
`);
    const orders = `${relay.url}/in/acme/orders`;
    statuses.push(await post(orders, '{"n":1}'));
    statuses.push(await post(orders, '{"n":2}'));
    statuses.push(await post(orders, '{"n":3}')); // 503, then delivered on the retry
    statuses.push(await post(`${relay.url}/not/a/route`, '{}'));
    statuses.push(await post(orders, JSON.stringify({ pad: 'x'.repeat(100) })));
    statuses.push(await raw(orders, 'GET'));
    text = await (await fetch(`${relay.url}/metrics`)).text();
  });
  afterAll(async () => {
    await relay?.close();
    await target?.close();
  });

  it('the traffic was what the test intends', () => {
    expect(statuses).toEqual([200, 200, 200, 404, 413, 405]);
    expect(target.received).toHaveLength(4);
  });

  it('hookrelay_requests_total by route, method and status', () => {
    const requests = (labels: Record<string, string>) => sample(text, 'hookrelay_requests_total', labels);
    expect(requests({ route: 'orders', method: 'POST', status: '200' })).toBe(3);
    expect(requests({ route: 'orders', method: 'POST', status: '413' })).toBe(1);
    expect(requests({ route: 'orders', method: 'GET', status: '405' })).toBe(1);
    expect(requests({ route: NO_ROUTE, method: 'POST', status: '404' })).toBe(1);
    expect(requests({ route: 'idle' })).toBeUndefined();
    expect(sumOf(text, 'hookrelay_requests_total')).toBe(6);
  });

  it('hookrelay_forward_attempts_total by outcome, and retries', () => {
    expect(sample(text, 'hookrelay_forward_attempts_total', { route: 'orders', outcome: '2xx' })).toBe(3);
    expect(sample(text, 'hookrelay_forward_attempts_total', { route: 'orders', outcome: '5xx' })).toBe(1);
    expect(sumOf(text, 'hookrelay_forward_attempts_total')).toBe(4);
    expect(sample(text, 'hookrelay_forward_retries_total', { route: 'orders' })).toBe(1);
    expect(sample(text, 'hookrelay_forward_retries_total', { route: 'idle' })).toBe(0);
  });

  it('hookrelay_deliveries_total by result, zero-initialised for every route', () => {
    const deliveries = (route: string, result: string) =>
      sample(text, 'hookrelay_deliveries_total', { route, result });
    expect(deliveries('orders', 'delivered')).toBe(3);
    for (const result of ['rejected', 'failed', 'deadline']) expect(deliveries('orders', result)).toBe(0);
    for (const result of ['delivered', 'rejected', 'failed', 'deadline'])
      expect(deliveries('idle', result)).toBe(0);
  });

  it('hookrelay_errors_total by route and code', () => {
    const errors = (route: string, code: string) => sample(text, 'hookrelay_errors_total', { route, code });
    expect(errors(NO_ROUTE, 'HOOKRELAY_ERR_ROUTE_NOT_FOUND')).toBe(1);
    expect(errors('orders', 'HOOKRELAY_ERR_BODY_TOO_LARGE')).toBe(1);
    expect(errors('orders', 'HOOKRELAY_ERR_METHOD_NOT_ALLOWED')).toBe(1);
    expect(sumOf(text, 'hookrelay_errors_total')).toBe(3);
  });

  it('histogram counts match the requests and attempts', () => {
    const count = (name: string, labels: Record<string, string>) => sample(text, `${name}_count`, labels);
    expect(count('hookrelay_request_duration_seconds', { route: 'orders', method: 'POST' })).toBe(4);
    expect(count('hookrelay_request_duration_seconds', { route: 'orders', method: 'GET' })).toBe(1);
    expect(count('hookrelay_upstream_request_duration_seconds', { route: 'orders', outcome: '2xx' })).toBe(3);
    expect(count('hookrelay_upstream_request_duration_seconds', { route: 'orders', outcome: '5xx' })).toBe(1);
    // The +Inf bucket is the count; the sum of durations is positive.
    expect(
      sample(text, 'hookrelay_request_duration_seconds_bucket', {
        route: 'orders',
        method: 'POST',
        le: '+Inf',
      }),
    ).toBe(4);
    expect(
      sample(text, 'hookrelay_request_duration_seconds_sum', { route: 'orders', method: 'POST' }),
    ).toBeGreaterThan(0);
  });

  it('body bytes, in-flight, routes and build info', () => {
    expect(sample(text, 'hookrelay_request_body_bytes_total', { route: 'orders' })).toBe(
      3 * '{"n":1}'.length,
    );
    expect(sample(text, 'hookrelay_requests_in_flight', { route: 'orders' })).toBe(0);
    expect(sample(text, 'hookrelay_config_routes')).toBe(2);
    expect(sample(text, 'hookrelay_build_info', { version: VERSION, nodejs: process.versions.node })).toBe(1);
  });

  it('every defined metric is exported with HELP and TYPE', () => {
    for (const def of Object.values(METRIC_DEFINITIONS)) {
      expect(text).toContain(`# HELP ${def.name} ${def.help}`);
      expect(text).toContain(`# TYPE ${def.name} ${def.type}`);
    }
  });

  it('names follow Prometheus conventions', () => {
    for (const def of Object.values(METRIC_DEFINITIONS)) {
      expect(def.name).toMatch(/^hookrelay_[a-z_]+$/);
      if (def.type === 'counter') expect(def.name).toMatch(/_total$/);
      else expect(def.name).not.toMatch(/_total$/);
      if (def.type === 'histogram') expect(def.name).toMatch(/_seconds$/);
    }
  });

  it('serves the Prometheus text format', async () => {
    const res = await fetch(`${relay.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  });
});

describe('labels never carry caller input', () => {
  let target: Target;
  let relay: Relay;
  afterAll(async () => {
    await relay?.close();
    await target?.close();
  });

  it('paths, parameters, queries, headers and unknown methods stay out of /metrics', async () => {
    target = await startTarget();
    const dead = await refusedPort();
    relay = await startRelay(`
routes:
  - id: tenant-orders
    path: /in/:tenant/orders
    methods: [POST, PUT]
    forward:
      url: ${target.url}/{tenant}?src={query.src}
  - id: down
    path: /down/:id
    forward:
      url: http://127.0.0.1:${dead}/{id}
    retry: { attempts: 2, minDelay: 1ms, maxDelay: 5ms }
`);
    const secrets = {
      path: random(),
      tenant: random(),
      query: random(),
      requestId: random(),
      header: random(),
    };
    const headers = {
      'x-request-id': secrets.requestId,
      'user-agent': secrets.header,
      'x-erp': secrets.header,
    };
    expect(await post(`${relay.url}/in/${secrets.path}`, '{}', headers)).toBe(404);
    expect(await post(`${relay.url}/${secrets.path}/x?${secrets.query}=1`, '{}', headers)).toBe(404);
    expect(await post(`${relay.url}/in/${secrets.tenant}/orders?src=${secrets.query}`, '{}', headers)).toBe(
      200,
    );
    expect(await post(`${relay.url}/down/${secrets.tenant}`, '{}', headers)).toBe(502);
    expect(await raw(`${relay.url}/in/${secrets.tenant}/orders`, 'DELETE')).toBe(405);
    expect(await raw(`${relay.url}/${secrets.path}`, 'PURGE')).toBe(404);
    expect(await raw(`${relay.url}/in/${secrets.tenant}/orders`, 'PROPFIND')).toBe(405);
    expect(target.received[0]!.url).toBe(`/${secrets.tenant}?src=${secrets.query}&src=${secrets.query}`);

    const text = await (await fetch(`${relay.url}/metrics`)).text();
    for (const value of Object.values(secrets)) expect(text).not.toContain(value);
    expect(text).not.toContain('zz');
    expect(text).not.toContain('PURGE');
    expect(text).not.toContain('PROPFIND');
    expect(
      sample(text, 'hookrelay_requests_total', { route: NO_ROUTE, method: 'OTHER', status: '404' }),
    ).toBe(1);
    expect(
      sample(text, 'hookrelay_requests_total', { route: 'tenant-orders', method: 'OTHER', status: '405' }),
    ).toBe(1);
    expect(
      sample(text, 'hookrelay_forward_attempts_total', { route: 'down', outcome: 'network_error' }),
    ).toBe(2);
    expect(sample(text, 'hookrelay_deliveries_total', { route: 'down', result: 'failed' })).toBe(1);
    expect(
      sample(text, 'hookrelay_errors_total', { route: 'down', code: 'HOOKRELAY_ERR_UPSTREAM_UNREACHABLE' }),
    ).toBe(1);

    // Every label value is a config id, an enum, a status code, or a version.
    const allowed = new Set([
      'tenant-orders',
      'down',
      NO_ROUTE,
      'POST',
      'PUT',
      'DELETE',
      'GET',
      'OTHER',
      VERSION,
      process.versions.node,
    ]);
    for (const [name, value] of labelPairs(text)) {
      if (name === 'le' || name === 'status') continue;
      if (name === 'listener') {
        expect(['main', 'admin']).toContain(value);
        continue;
      }
      if (name === 'hash') {
        // The loaded configuration's, from the config file, never from a caller.
        expect(value).toMatch(/^[0-9a-f]{12}$/);
        continue;
      }
      if (name === 'outcome' || name === 'result' || name === 'code' || name === 'reason') {
        expect(value).toMatch(/^([1-5]xx|[a-z_]+|HOOKRELAY_ERR_[A-Z_]+)$/);
        continue;
      }
      expect(allowed, `${name}="${value}"`).toContain(value);
    }
  });
});

function sumOf(text: string, name: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

function labelPairs(text: string): [string, string][] {
  const pairs: [string, string][] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const open = line.indexOf('{');
    if (open === -1) continue;
    const labels = line.slice(open + 1, line.lastIndexOf('}'));
    for (const match of labels.matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g))
      pairs.push([match[1]!, match[2]!]);
  }
  return pairs;
}
