import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Relay, refusedPort, startRelay, startTarget, type Target } from '../helpers.ts';

const SECRETS = {
  PASSWORD: 'pw-Secret-1',
  TOKEN: 'tok-Secret-2',
  API_KEY: 'hdr-Secret-3',
  QUERY_KEY: 'qry-Secret-4',
};

/**
 * One JSON log line per request with route, status, attempts and duration, whatever the outcome,
 * and never a configured secret: not in logs, not in error bodies.
 */
describe('request log lines and secrets', () => {
  let target: Target;
  let echo: Relay;
  let relay: Relay;
  const bodies: string[] = [];

  beforeAll(async () => {
    target = await startTarget((req, res) => {
      res.statusCode = req.url!.startsWith('/fail') ? 503 : req.url!.startsWith('/reject') ? 422 : 200;
      res.end('{}');
    });
    echo = await startRelay(`
routes:
  - id: echo
    path: /echo
    echo: true
`);
    const dead = await refusedPort();
    relay = await startRelay(
      `
defaults:
  retry: { attempts: 2, minDelay: 10ms, maxDelay: 20ms }
routes:
  - id: basic
    path: /in/basic
    forward: { url: "${target.url}/ok", auth: { type: basic, username: u, password: "\${PASSWORD}" } }
  - id: bearer-fail
    path: /in/bearer
    forward: { url: "${target.url}/fail", auth: { type: bearer, token: "\${TOKEN}" } }
  - id: header-reject
    path: /in/header
    forward: { url: "${target.url}/reject", auth: { type: header, name: X-Api-Key, value: "\${API_KEY}" } }
  - id: query-dead
    path: /in/query
    forward: { url: "http://127.0.0.1:${dead}/x?k=1", auth: { type: query, name: key, value: "\${QUERY_KEY}" } }
  - id: to-echo
    path: /in/echo
    forward: { url: "${echo.url}/echo", auth: { type: bearer, token: "\${TOKEN}" } }
  - id: small
    path: /in/small
    limits: { body: 4 }
    forward: { url: "${target.url}/ok", auth: { type: bearer, token: "\${TOKEN}" } }
`,
      SECRETS,
    );
    const calls: [string, RequestInit][] = [
      ['/in/basic', { method: 'POST', body: 'a' }],
      ['/in/bearer', { method: 'POST', body: 'b' }],
      ['/in/header', { method: 'POST', body: 'c' }],
      ['/in/query?key=caller', { method: 'POST', body: 'd' }],
      ['/in/echo', { method: 'POST', body: '{"e":1}', headers: { 'content-type': 'application/json' } }],
      ['/in/small', { method: 'POST', body: 'too large' }],
      ['/in/basic', { method: 'GET' }],
      ['/not/configured', { method: 'POST', body: 'f' }],
    ];
    for (const [path, init] of calls) {
      const res = await fetch(`${relay.url}${path}`, {
        ...init,
        headers: { 'x-request-id': `log-${path}`.replace(/[^\w.:-]/g, '_'), ...init.headers },
      });
      bodies.push(`${res.status} ${await res.text()}`);
    }
  });

  afterAll(async () => {
    await relay?.close();
    await echo?.close();
    await target?.close();
  });

  const lines = () => relay.logs.filter((l) => l.msg === 'request');

  it('one line per request, in order, with route, status, attempts and duration', () => {
    expect(lines().map((l) => [l.route, l.status, l.attempts])).toEqual([
      ['basic', 200, 1],
      ['bearer-fail', 502, 2],
      ['header-reject', 422, 1],
      ['query-dead', 502, 2],
      ['to-echo', 200, 1],
      ['small', 413, 0],
      ['basic', 405, 0],
      ['_none', 404, 0],
    ]);
    for (const line of lines()) {
      expect(line.durationMs, JSON.stringify(line)).toBeTypeOf('number');
      expect(line.durationMs as number).toBeGreaterThanOrEqual(0);
      expect(line.requestId).toMatch(/^log-/);
      expect(line.method).toBeTypeOf('string');
      expect(line.level).toBe(Number(line.status) >= 500 ? 'warn' : 'info');
    }
  });

  it('failures name their code and the last error', () => {
    expect(lines()[1]).toMatchObject({
      code: 'HOOKRELAY_ERR_UPSTREAM_FAILED',
      error: expect.stringContaining('503'),
    });
    expect(lines()[3]).toMatchObject({ code: 'HOOKRELAY_ERR_UPSTREAM_UNREACHABLE' });
    expect(lines()[5]).toMatchObject({ code: 'HOOKRELAY_ERR_BODY_TOO_LARGE' });
    // The 404 for no route is written by the same builder: code and error, like every failure.
    expect(lines()[7]).toMatchObject({ code: 'HOOKRELAY_ERR_ROUTE_NOT_FOUND', error: expect.any(String) });
  });

  it('no configured secret appears in any log line or any answer', () => {
    const everything = JSON.stringify(relay.logs) + JSON.stringify(echo.logs) + bodies.join('\n');
    for (const secret of Object.values(SECRETS)) expect(everything).not.toContain(secret);
    expect(everything).not.toContain(Buffer.from(`u:${SECRETS.PASSWORD}`).toString('base64'));
  });

  it('an echo target shows that a credential arrived, masked', () => {
    const echoed = JSON.parse(bodies[4]!.slice(4));
    expect(echoed).toMatchObject({ echo: true, route: 'echo', body: '{"e":1}', bodyBytes: 7 });
    expect(echoed.headers.authorization).toBe(`Bearer <redacted, ${SECRETS.TOKEN.length} chars>`);
    expect(echoed.headers['x-request-id']).toBe('log-_in_echo');
  });
});
