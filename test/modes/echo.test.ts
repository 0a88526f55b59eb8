/**
 * `echo: true` (src/modes/echo/): chosen by `echo`, not `delivery`; every key about forwarding is
 * refused; its compiled route has no forward; the running mode answers a JSON description of the
 * real request and forwards nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type EchoRoute, echoMode } from '../../src/modes/echo/index.ts';
import { compile, configErrors, issuesOf, requestLines, type Seam, startSeam, yaml } from './support.ts';

let seam: Seam | undefined;
afterEach(async () => {
  await seam?.close();
  seam = undefined;
});

const ECHO = 'does not apply to an echo route (it answers itself and forwards nothing)';
const echoRoute = (...extra: string[]) =>
  yaml('routes:', '  - id: e', '    path: /echo/:id', '    echo: true', ...extra);

describe('echo: keys and rules', () => {
  it('is selected by `echo: true`, owns no keys, queues nothing', () => {
    expect(echoMode.selector).toBe('echo');
    expect(echoMode.keys).toEqual({});
    expect(echoMode.queued).toBe(false);
  });

  it('a bare echo route passes; `delivery: sync` (the default written out) too', () => {
    expect(issuesOf('echo', { echo: true })).toEqual([]);
    expect(issuesOf('echo', { echo: true, delivery: 'sync' })).toEqual([]);
  });

  it.each([
    [{ transform: [] }, `transform: ${ECHO}`],
    [{ response: {} }, `response: ${ECHO}`],
    [{ respond: {} }, `respond: ${ECHO}`],
    [{ retry: {} }, `retry: ${ECHO}`],
    [{ timeouts: {} }, `timeouts: ${ECHO}`],
    [{ limits: { response: 1 } }, `limits.response: ${ECHO}`],
    [{ limits: { jsonDepth: 1 } }, `limits.jsonDepth: ${ECHO}`],
    [{ queue: {} }, `queue: ${ECHO}`],
    [{ dedup: { header: 'X' } }, 'dedup: needs `delivery: async` or `hybrid`'],
    [{ stream: {} }, 'stream: only applies to `delivery: stream`'],
    [{ hybrid: {} }, 'hybrid: only applies to `delivery: hybrid`'],
    [{ delivery: 'async' }, 'delivery: an echo route answers itself; it has no delivery mode'],
  ])('refuses %j', (route, message) => {
    const issues = issuesOf('echo', { echo: true, ...route });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toContain(message);
  });

  it('a body limit applies (the body is read); the loader refuses forward with echo', () => {
    expect(issuesOf('echo', { echo: true, limits: { body: 10 } })).toEqual([]);
    expect(configErrors(echoRoute('    forward: { url: "https://x.example/h" }'))).toContain(
      'routes[0]: a route needs exactly one of `forward`, `targets` or `echo: true`',
    );
  });
});

describe('echo: compile', () => {
  it('has no forward, retry or timeouts; only the body limit', () => {
    const [route] = compile(echoRoute('    limits: { body: 2kb }')) as [EchoRoute];
    expect(route.delivery).toBe('echo');
    expect(route).not.toHaveProperty('forward');
    expect(route).not.toHaveProperty('retry');
    expect(route).not.toHaveProperty('timeouts');
    expect(route.limits).toEqual({ body: 2048 });
  });
});

describe('echo: the running mode on real HTTP', () => {
  it('answers a JSON description of the request, credentials masked', async () => {
    seam = await startSeam(echoRoute(), { modes: ['echo'] });
    const res = await fetch(`${seam.url}/echo/42?x=1`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: 'Bearer abcdefgh',
        'x-request-id': 'r-7',
      },
      body: '{"a":1}',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('r-7');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      echo: true,
      route: 'e',
      requestId: 'r-7',
      method: 'POST',
      path: '/echo/42',
      params: { id: '42' },
      query: { x: '1' },
      bodyBytes: 7,
      bodyEncoding: 'utf8',
      body: '{"a":1}',
    });
    expect((body.headers as Record<string, string>).authorization).toBe('Bearer <redacted, 8 chars>');
    await seam.idle();
    expect(requestLines(seam.logs)).toEqual([
      expect.objectContaining({ route: 'e', status: 200, attempts: 0, result: 'echo' }),
    ]);
  });

  it('a body over its limit is refused before the echo (413)', async () => {
    seam = await startSeam(echoRoute('    limits: { body: 4b }'), { modes: ['echo'] });
    const res = await fetch(`${seam.url}/echo/1`, { method: 'POST', body: '12345' });
    expect(res.status).toBe(413);
  });
});
