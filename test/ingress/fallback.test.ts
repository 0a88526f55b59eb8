/**
 * What the listener answers outside its routes (src/ingress/fallback.ts): health, readiness and
 * metrics on GET and HEAD, matched as express matched them (query ignored, any case, one trailing
 * slash), and the JSON 404 for everything else, with its request line and metric.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Relay, startRelay } from '../helpers.ts';

let relay: Relay;
beforeAll(async () => {
  relay = await startRelay(
    'routes:\n  - id: r\n    path: /hook\n    forward: { url: "http://127.0.0.1:9/in" }\n',
  );
});
afterAll(() => relay.close());

describe('the fallback handler', () => {
  it.each(['/healthz', '/HEALTHZ', '/healthz/', '/healthz?probe=1'])('GET %s is healthy', async (path) => {
    const res = await fetch(`${relay.url}${path}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('HEAD gets the headers without a body', async () => {
    const res = await fetch(`${relay.url}/readyz`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(JSON.stringify({ status: 'ready' }).length));
    expect(await res.text()).toBe('');
  });

  it('serves the metrics in the Prometheus text format', async () => {
    const res = await fetch(`${relay.url}/metrics/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await res.text()).toContain('# TYPE hookrelay_requests_total counter');
  });

  it.each([
    ['POST', '/healthz'],
    ['GET', '/healthz//'],
    ['GET', '/nope?token=secret'],
  ])('%s %s is the JSON 404 with its request line, the query not quoted', async (method, path) => {
    const res = await fetch(`${relay.url}${path}`, { method });
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: string; route: unknown; requestId: string };
    expect(body).toMatchObject({ error: 'HOOKRELAY_ERR_ROUTE_NOT_FOUND', status: 404, route: null });
    expect(JSON.stringify(body)).not.toContain('secret');
    const line = relay.logs.find((l) => l.msg === 'request' && l.requestId === body.requestId);
    expect(line).toMatchObject({ route: '_none', status: 404, code: 'HOOKRELAY_ERR_ROUTE_NOT_FOUND' });
  });
});
