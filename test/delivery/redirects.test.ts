import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { ErrorBody } from '../../src/pipeline/reply.ts';
import { type Relay, sample, startRelay, startTarget, type Target, type TargetHandler } from '../helpers.ts';

/** Redirects from the target: not followed by default; same origin only when a route allows it. */
describe('forward.followRedirects', () => {
  const targets: Target[] = [];
  let relay: Relay | undefined;
  afterEach(async () => {
    await relay?.close();
    relay = undefined;
    for (const t of targets.splice(0)) await t.close();
  });

  async function target(handler?: TargetHandler) {
    const t = await startTarget(handler);
    targets.push(t);
    return t;
  }

  /** Redirects every path in `moves` with `status` to its Location; anything else answers 200. */
  const redirecting =
    (moves: Record<string, [number, string | undefined]>): TargetHandler =>
    (req, res) => {
      const move = moves[req.url.split('?')[0]!];
      if (move) {
        res.statusCode = move[0];
        if (move[1] !== undefined) res.setHeader('location', move[1]);
        res.end('moved');
        return;
      }
      res.end(`{"at":"${req.url}"}`);
    };

  async function start(url: string, extra = '', route = '') {
    relay = await startRelay(`queue: { driver: memory }
admin: { enabled: false }
routes:
  - id: r
    path: /in
${
  // A queued route backs off with its queue settings; the others with retry.
  route.includes('delivery: async')
    ? '    queue: { minDelay: 10ms, maxDelay: 20ms }'
    : '    retry: { attempts: 3, minDelay: 10ms, maxDelay: 20ms }'
}
${route}
    forward:
      url: ${url}
      auth: { type: bearer, token: tok-1 }
${extra}`);
  }

  const post = () => fetch(`${relay!.url}/in`, { method: 'POST', redirect: 'manual', body: '{"n":1}' });

  it('by default a 3xx is the answer: relayed to the caller, not followed', async () => {
    const t = await target(redirecting({ '/old': [302, '/new'] }));
    await start(`${t.url}/old`);
    const res = await post();
    expect(res.status).toBe(302);
    expect(t.received.map((r) => r.url)).toEqual(['/old']);
  });

  it.each([301, 302, 307, 308])(
    '%i is followed to the same origin: same method and body, credentials and signature re-applied for the new path',
    async (status) => {
      const t = await target(redirecting({ '/old': [status, '/new?v=2'] }));
      await start(
        `${t.url}/old`,
        `      followRedirects: 2
      sign: [{ type: hmac, header: X-Sig, signed: "{method} {url} {body}", secret: s3cret }]`,
      );
      const res = await post();
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('{"at":"/new?v=2"}');
      expect(t.received.map((r) => `${r.method} ${r.url}`)).toEqual(['POST /old', 'POST /new?v=2']);
      const moved = t.received[1]!;
      expect(moved.body.toString()).toBe('{"n":1}');
      expect(moved.headers.authorization).toBe('Bearer tok-1');
      expect(moved.headers['x-sig']).toBe(
        createHmac('sha256', 's3cret').update('POST /new?v=2 {"n":1}').digest('hex'),
      );
    },
  );

  it('303 See Other is not followed (the payload would be dropped): it is the answer', async () => {
    const t = await target(redirecting({ '/old': [303, '/status/1'] }));
    await start(`${t.url}/old`, '      followRedirects: 3');
    expect((await post()).status).toBe(303);
    expect(t.received).toHaveLength(1);
  });

  it('a redirect to another origin is refused (502, not retried) and nothing is sent there', async () => {
    const other = await target();
    const t = await target(redirecting({ '/old': [307, `${other.url}/steal`] }));
    await start(`${t.url}/old`, '      followRedirects: 5');
    const res = await post();
    expect(res.status).toBe(502);
    const body = (await res.json()) as ErrorBody;
    expect(body).toMatchObject({
      error: 'HOOKRELAY_ERR_REDIRECT_REFUSED',
      message: `target redirect not followed: the target answered 307 toward another origin (${other.url}); only ${t.url} is followed`,
    });
    expect(other.received).toHaveLength(0);
    expect(t.received).toHaveLength(1); // not retried
    const text = await (await fetch(`${relay!.url}/metrics`)).text();
    expect(sample(text, 'hookrelay_forward_attempts_total', { route: 'r', outcome: '3xx' })).toBe(1);
  });

  it.each([
    ['another scheme', 'https://127.0.0.1:PORT/x'],
    ['another host', 'http://localhost:PORT/x'],
    ['a protocol-relative URL to another host', '//example.com/x'],
  ])('%s is another origin', async (_what, location) => {
    const t = await target();
    const moving = await target(redirecting({ '/old': [308, location.replace('PORT', String(t.port))] }));
    await start(`${moving.url}/old`, '      followRedirects: 1');
    const res = await post();
    expect(res.status).toBe(502);
    expect(((await res.json()) as ErrorBody).error).toBe('HOOKRELAY_ERR_REDIRECT_REFUSED');
    expect(t.received).toHaveLength(0);
    expect(moving.received).toHaveLength(1);
  });

  it('more hops than allowed, or no Location, is refused with a clear reason', async () => {
    const t = await target(
      redirecting({ '/a': [302, '/b'], '/b': [302, '/c'], '/nowhere': [307, undefined] }),
    );
    await start(`${t.url}/a`, '      followRedirects: 1');
    const res = await post();
    expect(res.status).toBe(502);
    expect(((await res.json()) as ErrorBody).message).toBe(
      'target redirect not followed: more than 1 redirect(s) (followRedirects: 1)',
    );
    expect(t.received.map((r) => r.url)).toEqual(['/a', '/b']);
    await relay!.close();
    await start(`${t.url}/nowhere`, '      followRedirects: 1');
    expect(((await (await post()).json()) as ErrorBody).message).toBe(
      'target redirect not followed: the target answered 307 without a Location header',
    );
  });

  it('async: a same-origin redirect is followed; one to another origin dead-letters at once', async () => {
    const other = await target();
    const t = await target(redirecting({ '/ok': [307, '/moved'], '/bad': [307, `${other.url}/x`] }));
    await start(`${t.url}/{query.to}`, '      followRedirects: 1', '    delivery: async');
    const ok = await fetch(`${relay!.url}/in?to=ok`, { method: 'POST', body: '{"n":1}' });
    const bad = await fetch(`${relay!.url}/in?to=bad`, { method: 'POST', body: '{"n":2}' });
    expect([ok.status, bad.status]).toEqual([202, 202]);
    const deadline = Date.now() + 10_000;
    while (
      relay!.logs.filter((l) => l.msg === 'delivered' || l.msg === 'delivery dead-lettered').length < 2
    ) {
      if (Date.now() > deadline) throw new Error('timed out waiting for both deliveries to finish');
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(t.received.map((r) => r.url.split('?')[0])).toEqual(
      expect.arrayContaining(['/ok', '/moved', '/bad']),
    );
    expect(t.received).toHaveLength(3);
    expect(other.received).toHaveLength(0);
    const dead = relay!.logs.find((l) => l.msg === 'delivery dead-lettered');
    expect(dead).toMatchObject({ attempt: 1 });
    expect(String(dead!.reason)).toMatch(/toward another origin/);
  });
});
