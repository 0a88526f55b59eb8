/**
 * `delivery: sync` (src/modes/sync/): its rules, its compiled route, and handle() on real HTTP: the
 * caller waits and gets the target's answer; retries happen within the deadline; nothing is held
 * open once the mode and its pools are closed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SyncRoute } from '../../src/modes/sync/index.ts';
import { syncMode } from '../../src/modes/sync/index.ts';
import { startTarget, type Target } from '../helpers.ts';
import {
  compile,
  configErrors,
  issuesOf,
  oneRoute,
  openConnections,
  requestLines,
  type Seam,
  startSeam,
} from './support.ts';

let target: Target | undefined;
let seam: Seam | undefined;
afterEach(async () => {
  await seam?.close();
  await target?.close();
  seam = target = undefined;
});

describe('sync: keys and rules', () => {
  it('owns no route keys and is not queued', () => {
    expect(syncMode.keys).toEqual({});
    expect(syncMode.queued).toBe(false);
    expect(syncMode.selector).toBe('delivery');
  });

  it('a plain route passes its check', () => {
    expect(issuesOf('sync', { forward: { url: 'https://x.example' } })).toEqual([]);
  });

  it.each([
    ['queue', { queue: { maxAttempts: 3 } }, 'queue: does not apply to `delivery: sync`'],
    ['dedup', { dedup: { header: 'X-Id' } }, 'dedup: needs `delivery: async` or `hybrid`'],
    ['stream', { stream: {} }, 'stream: only applies to `delivery: stream`'],
    ['hybrid', { hybrid: { budget: 1000 } }, 'hybrid: only applies to `delivery: hybrid`'],
  ])('refuses %s', (_key, route, message) => {
    const issues = issuesOf('sync', route);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toContain(message);
  });

  it('the loader reports the refusal at the route key, also for the default mode', () => {
    for (const mode of ['sync', undefined]) {
      expect(configErrors(oneRoute(mode, 'https://x.example/h', '    queue: { maxAttempts: 3 }'))).toEqual([
        expect.stringMatching(/^routes\[0\]\.queue: does not apply to `delivery: sync`/),
      ]);
    }
  });
});

describe('sync: compile', () => {
  it('keeps the retry policy, the deadline and the response steps', () => {
    const [route] = compile(
      oneRoute(
        'sync',
        'https://x.example/h',
        '    retry: { attempts: 4, minDelay: 50ms }',
        '    timeouts: { deadline: 9s }',
      ),
    ) as [SyncRoute];
    expect(route.delivery).toBe('sync');
    expect(route.retry).toMatchObject({ attempts: 4, minDelay: 50 });
    expect(route.retry.retryOn(503)).toBe(true);
    expect(route.retry.retryOn(400)).toBe(false);
    expect(route.timeouts.deadline).toBe(9_000);
    expect(route.responseTransform).toEqual([]);
    expect(route.forward.template.origin).toBe('https://x.example');
    expect(route).not.toHaveProperty('queue');
  });
});

describe('sync: handle() against a real target', () => {
  it("forwards the body and answers with the target's status and body", async () => {
    target = await startTarget((req, res) => {
      res.statusCode = 201;
      res.setHeader('content-type', 'text/plain');
      res.end(`got ${req.body.length}`);
    });
    seam = await startSeam(oneRoute('sync', `${target.url}/hook`), { modes: ['sync'] });
    const res = await fetch(`${seam.url}/in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-1' },
      body: '{"a":1}',
    });
    expect(res.status).toBe(201);
    expect(await res.text()).toBe('got 7');
    expect(res.headers.get('x-request-id')).toBe('req-1');
    expect(target.received).toHaveLength(1);
    expect(String(target.received[0]!.body)).toBe('{"a":1}');
    await seam.idle();
    expect(requestLines(seam.logs)).toEqual([
      expect.objectContaining({ route: 'r', status: 201, attempts: 1, result: 'delivered' }),
    ]);
  });

  it('retries a 503 within the deadline, then relays the 2xx', async () => {
    target = await startTarget((_req, res, index) => {
      res.statusCode = index === 0 ? 503 : 200;
      res.end(index === 0 ? 'busy' : 'ok');
    });
    seam = await startSeam(
      oneRoute('sync', `${target.url}/hook`, '    retry: { minDelay: 10ms, jitter: false }'),
      {
        modes: ['sync'],
      },
    );
    const res = await fetch(`${seam.url}/in`, { method: 'POST', body: 'x' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
    expect(target.received).toHaveLength(2);
  });

  it("relays a status outside retryOn once (rejected): the caller sees the target's 400", async () => {
    target = await startTarget((_req, res) => {
      res.statusCode = 400;
      res.end('no');
    });
    seam = await startSeam(oneRoute('sync', `${target.url}/hook`), { modes: ['sync'] });
    const res = await fetch(`${seam.url}/in`, { method: 'POST', body: 'x' });
    expect(res.status).toBe(400);
    expect(await res.text()).toBe('no');
    expect(target.received).toHaveLength(1);
  });

  it('leaves no connection to the target open once stopped', async () => {
    target = await startTarget();
    seam = await startSeam(oneRoute('sync', `${target.url}/hook`), { modes: ['sync'] });
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${seam.url}/in`, { method: 'POST', body: 'x' });
      await res.arrayBuffer();
    }
    // The keep-alive pool holds its connection while the relay runs.
    expect(await openConnections(target.server)).toBeGreaterThan(0);
    await seam.close();
    seam = undefined;
    // Bounded below the idle timeouts (4 s pool, 5 s server), so only closing the pool can pass it.
    await expect.poll(() => openConnections(target!.server), { timeout: 3_000 }).toBe(0);
  });
});
