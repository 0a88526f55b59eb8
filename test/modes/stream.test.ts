/**
 * `delivery: stream` (src/modes/stream/): its key (`stream`) and the rules that refuse whatever
 * needs the whole body, its compiled route (no retry policy, no transforms), and the running mode
 * on real HTTP: the body proxied to a real target and the answer back; `close` releases the
 * keep-alive connections of its agents.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type StreamRoute, streamMode } from '../../src/modes/stream/index.ts';
import { startTarget, type Target } from '../helpers.ts';
import {
  compile,
  configErrors,
  issuesOf,
  oneRoute,
  openConnections,
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

const STREAM = 'does not apply to `delivery: stream`';

describe('stream: keys and rules', () => {
  it('owns `stream` and is not queued', () => {
    expect(Object.keys(streamMode.keys)).toEqual(['stream']);
    expect(streamMode.queued).toBe(false);
  });

  it('a route with bodyless verifiers and stream options passes', () => {
    expect(
      issuesOf('stream', { stream: { idleTimeout: 1 }, verify: [{ type: 'basic' }, { type: 'ipAllow' }] }),
    ).toEqual([]);
    // Shared-token presets read a header only.
    expect(issuesOf('stream', { verify: [{ type: 'gitlab' }, { type: 'okta' }] })).toEqual([]);
  });

  it.each([
    [{ transform: [{}] }, `transform: ${STREAM}`],
    [{ response: {} }, `response: ${STREAM}`],
    [{ respond: {} }, `respond: ${STREAM}`],
    [{ retry: { attempts: 2 } }, `retry: ${STREAM}`],
    [{ queue: {} }, `queue: ${STREAM}`],
    [{ dedup: { header: 'X' } }, `dedup: ${STREAM}`],
    [{ hybrid: {} }, `hybrid: ${STREAM}`],
    [{ timeouts: { attempt: 1 } }, `timeouts.attempt: ${STREAM}`],
    [{ timeouts: { deadline: 1 } }, `timeouts.deadline: ${STREAM}`],
    [{ limits: { response: 1 } }, `limits.response: ${STREAM}`],
    [{ limits: { jsonDepth: 1 } }, `limits.jsonDepth: ${STREAM}`],
    [{ forward: { sign: {} } }, `forward.sign: ${STREAM}`],
    [{ forward: { followRedirects: 1 } }, `forward.followRedirects: ${STREAM}`],
    [{ verify: [{ type: 'hmac' }] }, "verify.0.type: 'hmac' checks the body"],
    [{ verify: [{ type: 'discord' }] }, "verify.0.type: 'discord' checks the body"],
  ])('refuses %j', (route, message) => {
    const issues = issuesOf('stream', route);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toContain(message);
  });

  it('the loader names the key and the alternative', () => {
    expect(configErrors(oneRoute('stream', 'https://x.example/h', '    retry: { attempts: 2 }'))).toEqual([
      expect.stringMatching(/^routes\[0\]\.retry: does not apply .*see `stream\.retryRefused`/),
    ]);
  });
});

describe('stream: compile', () => {
  it('has no retry policy, no transforms, no body cap of its own unless written', () => {
    const [route] = compile(oneRoute('stream', 'https://x.example/h')) as [StreamRoute];
    expect(route.delivery).toBe('stream');
    expect(route).not.toHaveProperty('retry');
    expect(route).not.toHaveProperty('transform');
    expect(route).not.toHaveProperty('queue');
    expect(route.limits.body).toBe(Number.POSITIVE_INFINITY);
    expect(route.stream).toEqual({ idleTimeout: 60_000, retryRefused: false });
    expect(Object.keys(route.timeouts)).toEqual(['connect']);
  });

  it('keeps its own body limit and stream options', () => {
    const [route] = compile(
      oneRoute(
        'stream',
        'https://x.example/h',
        '    limits: { body: 1kb }',
        '    stream: { idleTimeout: 5s, retryRefused: true }',
      ),
    ) as [StreamRoute];
    expect(route.limits.body).toBe(1024);
    expect(route.stream).toEqual({ idleTimeout: 5_000, retryRefused: true });
  });
});

describe('stream: the running mode on real HTTP', () => {
  it("proxies the body to the target and the target's answer back", async () => {
    target = await startTarget((req, res) => {
      res.statusCode = 207;
      res.setHeader('content-type', 'text/plain');
      res.end(`${req.method} ${req.url} ${req.body.length}`);
    });
    seam = await startSeam(oneRoute('stream', `${target.url}/files`), { modes: ['stream'] });
    const body = Buffer.alloc(256 * 1024, 'q');
    const res = await fetch(`${seam.url}/in`, { method: 'POST', body });
    expect(res.status).toBe(207);
    expect(await res.text()).toBe(`POST /files ${body.length}`);
    expect(target.received[0]!.body.equals(body)).toBe(true);
  });

  it('a refused connection is a 502 without a retry policy to apply', async () => {
    target = await startTarget();
    const port = target.port;
    await target.close();
    target = undefined;
    seam = await startSeam(oneRoute('stream', `http://127.0.0.1:${port}/files`), { modes: ['stream'] });
    const res = await fetch(`${seam.url}/in`, { method: 'POST', body: 'x' });
    expect(res.status).toBe(502);
  });

  it('close() releases the keep-alive connections to the target', async () => {
    target = await startTarget();
    seam = await startSeam(oneRoute('stream', `${target.url}/files`), { modes: ['stream'] });
    const res = await fetch(`${seam.url}/in`, { method: 'POST', body: 'x' });
    await res.arrayBuffer();
    await seam.idle();
    expect(await openConnections(target.server)).toBe(1);
    await seam.ctx.routing.current.modes.get('stream')!.close?.();
    // Bounded below the idle timeouts (4 s agent, 5 s server), so only closing the agents can pass it.
    await expect.poll(() => openConnections(target!.server), { timeout: 3_000 }).toBe(0);
  });
});
