import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, startRelay, startTarget, type Target } from '../helpers.ts';

/** URL templates, method override and query handling, seen by a real downstream. */
describe('outbound request', () => {
  let target: Target;
  let relay: Relay;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
  });

  async function setup(path: string, url: string, extra = '', methods = '[POST]') {
    target = await startTarget();
    relay = await startRelay(`
routes:
  - id: tpl
    path: ${path}
    methods: ${methods}
    forward:
      url: "${url.replace('TARGET', target.url)}"
${extra}`);
  }

  async function post(path: string, init: RequestInit = {}) {
    const res = await fetch(`${relay.url}${path}`, { method: 'POST', body: '{}', ...init });
    return res;
  }

  const lastUrl = () => target.received.at(-1)!.url;

  it('path parameters and query values fill the template', async () => {
    await setup('/in/:tenant/orders/:id', 'TARGET/api/{tenant}/orders/{id}?src={query.source}');
    const res = await post('/in/acme/orders/42?source=erp&x=1');
    expect(res.status).toBe(200);
    // The inbound query is appended after the template's own (passQuery defaults to true).
    expect(lastUrl()).toBe('/api/acme/orders/42?src=erp&source=erp&x=1');
  });

  it('passQuery: false sends only the template query', async () => {
    await setup('/in/:tenant', 'TARGET/api/{tenant}?src={query.source}', '      passQuery: false');
    await post('/in/acme?source=erp&secret=x');
    expect(lastUrl()).toBe('/api/acme?src=erp');
  });

  it('a missing query value renders empty', async () => {
    await setup('/in/:tenant', 'TARGET/api/{tenant}/{query.kind}/x', '      passQuery: false');
    await post('/in/acme');
    expect(lastUrl()).toBe('/api/acme//x');
  });

  it.each([
    ['/in/a%3Fb%23c/orders', '/api/a%3Fb%23c/orders'],
    ['/in/%40evil.example/orders', '/api/%40evil.example/orders'],
    ['/in/caf%C3%A9%20bar/orders', '/api/caf%C3%A9%20bar/orders'],
  ])('path parameter %s is percent-encoded: %s', async (inbound, expected) => {
    await setup('/in/:tenant/orders', 'TARGET/api/{tenant}/orders', '      passQuery: false');
    const res = await post(inbound);
    expect(res.status).toBe(200);
    expect(lastUrl()).toBe(expected);
  });

  it.each([
    '/in/..%2F..%2Fadmin/orders',
    '/in/..%5C..%5Cadmin/orders',
    '/in/a%2Fb/orders',
    '/in/..;jsessionid=1/orders',
    '/in/..;/orders',
    '/in/%2e%2e;x/orders',
    '/in/..%3B/orders',
    '/in/.;/orders',
  ])('a path parameter %s that could walk up the target path is refused with 400', async (inbound) => {
    await setup('/in/:tenant/orders', 'TARGET/api/{tenant}/orders', '      passQuery: false');
    const res = await post(inbound);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('HOOKRELAY_ERR_INVALID_PARAMETER');
    expect(target.received).toHaveLength(0);
  });

  it.each(['/in/../orders', '/in/%2e%2e/orders', '/in/./orders'])(
    'a dot-segment parameter %s is refused (404) and nothing is sent',
    async (inbound) => {
      await setup('/in/:tenant/orders', 'TARGET/api/{tenant}/orders');
      const res = await post(inbound);
      expect(res.status).toBe(404);
      expect(target.received).toHaveLength(0);
    },
  );

  it.each([
    ['x?y#z', '/api/x%3Fy%23z/orders'],
    ['a;b', '/api/a%3Bb/orders'],
  ])('query value %j placed in the path is percent-encoded', async (value, expected) => {
    await setup('/in/q', 'TARGET/api/{query.t}/orders', '      passQuery: false');
    const res = await post(`/in/q?t=${encodeURIComponent(value)}`);
    expect(res.status).toBe(200);
    expect(lastUrl()).toBe(expected);
  });

  it.each(['a/b', '../admin', '//evil.example', '..;x', '..\\x'])(
    'query value %j placed in the path is refused with 400',
    async (value) => {
      await setup('/in/q', 'TARGET/api/{query.t}/orders', '      passQuery: false');
      const res = await post(`/in/q?t=${encodeURIComponent(value)}`);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe('HOOKRELAY_ERR_INVALID_PARAMETER');
      expect(target.received).toHaveLength(0);
    },
  );

  it.each(['..', '.', '%2e%2e', '.%2E'])(
    'query value %j placed in the path cannot walk up the target path',
    async (value) => {
      await setup('/in/q', 'TARGET/api/{query.t}/orders', '      passQuery: false');
      const res = await post(`/in/q?t=${encodeURIComponent(value)}`);
      // Either refused with a 4xx, or sent to a path that still sits under /api/<one segment>/orders.
      // Today `..` is sent to /orders and `.` to /api/orders: the URL parser removes dot segments.
      for (const r of target.received) expect(r.url).toMatch(/^\/api\/[^/]+\/orders$/);
      if (target.received.length === 0) {
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
      }
    },
  );

  it('the target host stays fixed whatever the parameters', async () => {
    await setup('/in/:p', 'TARGET/{p}', '      passQuery: false');
    await post(`/in/${encodeURIComponent('@127.0.0.2:1')}`);
    await post(`/in/${encodeURIComponent('evil.example:80@x')}`);
    // Backslashes (which URL parsers read as slashes) never reach the target at all.
    expect((await post(`/in/${encodeURIComponent('\\\\evil.example')}`)).status).toBe(400);
    expect(target.received).toHaveLength(2);
    for (const r of target.received) expect(r.headers.host).toBe(`127.0.0.1:${target.port}`);
    expect(target.received.map((r) => r.url)).toEqual(['/%40127.0.0.2%3A1', '/evil.example%3A80%40x']);
  });

  it('forward.method overrides the inbound method', async () => {
    await setup('/in/m', 'TARGET/hook', '      method: put', '[POST, PATCH]');
    await post('/in/m', { body: '{"a":1}', headers: { 'content-type': 'application/json' } });
    await post('/in/m', { method: 'PATCH', body: 'x' });
    expect(target.received.map((r) => r.method)).toEqual(['PUT', 'PUT']);
    expect(target.received[0]!.body.toString()).toBe('{"a":1}');
  });

  it('forward.method: POST turns an inbound GET with a query into a POST', async () => {
    await setup('/in/ping', 'TARGET/hook', '      method: POST', '[GET]');
    const res = await fetch(`${relay.url}/in/ping?status=up`);
    expect(res.status).toBe(200);
    expect(target.received[0]).toMatchObject({ method: 'POST', url: '/hook?status=up' });
  });

  it('forward.method: GET on a POST route still delivers', async () => {
    await setup('/in/poll', 'TARGET/hook', '      method: GET');
    const res = await post('/in/poll?since=1', { body: '' });
    expect(res.status).toBe(200);
    expect(target.received[0]).toMatchObject({ method: 'GET', url: '/hook?since=1' });
  });
});
