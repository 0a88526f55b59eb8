import { afterEach, describe, expect, it } from 'vitest';
import type { ErrorBody } from '../../src/pipeline/reply.ts';
import {
  type Relay,
  refusedPort,
  startRelay,
  startTarget,
  type Target,
  type TargetHandler,
} from '../helpers.ts';

/** Retries against real downstreams: what is retried, how often, and what the caller gets. */
describe('delivery retries', () => {
  let target: Target | undefined;
  let relay: Relay;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
    target = undefined;
  });

  async function setup(handler: TargetHandler, retry = '{ attempts: 3, minDelay: 10ms, maxDelay: 50ms }') {
    target = await startTarget(handler);
    relay = await startRelay(`
routes:
  - id: retry-route
    path: /in/retry
    retry: ${retry}
    forward:
      url: ${target.url}/hook
`);
  }

  const post = (body = '{"order":42}') =>
    fetch(`${relay.url}/in/retry`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-retry-1' },
      body,
    });

  /** Answers `statuses[i]` to the i-th request, the last one from then on. */
  const sequence =
    (statuses: number[], body: (status: number) => string = (s) => `{"status":${s}}`): TargetHandler =>
    (_req, res, i) => {
      const status = statuses[Math.min(i, statuses.length - 1)]!;
      res.statusCode = status;
      res.setHeader('content-type', 'application/json');
      res.end(body(status));
    };

  it('503, 503, 200 delivers: the downstream sees exactly three requests, the caller gets the 200 body', async () => {
    await setup(sequence([503, 503, 200], (s) => (s === 200 ? '{"accepted":true}' : 'busy')));
    const res = await post();
    expect(res.status).toBe(200);
    expect((await res.json()) as ErrorBody).toEqual({ accepted: true });
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(target!.received).toHaveLength(3);
    for (const r of target!.received) {
      expect(r.body.toString()).toBe('{"order":42}');
      expect(r.headers['x-request-id']).toBe('req-retry-1');
    }
    const line = relay.logs.find((l) => l.msg === 'request');
    expect(line).toMatchObject({ route: 'retry-route', status: 200, attempts: 3, requestId: 'req-retry-1' });
  });

  it('503 on every attempt: 502 HOOKRELAY_ERR_UPSTREAM_FAILED naming route, request id, attempts, last error', async () => {
    await setup(sequence([503]));
    const res = await post();
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('x-request-id')).toBe('req-retry-1');
    const body = (await res.json()) as ErrorBody;
    expect(body).toMatchObject({
      error: 'HOOKRELAY_ERR_UPSTREAM_FAILED',
      status: 502,
      route: 'retry-route',
      requestId: 'req-retry-1',
      attempts: 3,
      lastError: 'target answered 503',
    });
    expect(body.message).toContain('3 attempt(s)');
    expect(target!.received).toHaveLength(3);
  });

  it('attempts: 1 means no retry', async () => {
    await setup(sequence([503]), '{ attempts: 1 }');
    const res = await post();
    expect(res.status).toBe(502);
    expect(((await res.json()) as ErrorBody).attempts).toBe(1);
    expect(target!.received).toHaveLength(1);
  });

  it('a refused connection: 502 HOOKRELAY_ERR_UPSTREAM_UNREACHABLE after every attempt', async () => {
    const port = await refusedPort();
    relay = await startRelay(`
routes:
  - id: dead-target
    path: /in/dead
    retry: { attempts: 2, minDelay: 10ms, maxDelay: 20ms }
    forward:
      url: http://127.0.0.1:${port}/hook
`);
    const res = await fetch(`${relay.url}/in/dead`, { method: 'POST', body: 'x' });
    expect(res.status).toBe(502);
    const body = (await res.json()) as ErrorBody;
    expect(body).toMatchObject({
      error: 'HOOKRELAY_ERR_UPSTREAM_UNREACHABLE',
      route: 'dead-target',
      attempts: 2,
    });
    expect(body.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get('x-request-id')).toBe(body.requestId);
    expect(body.lastError).toContain('ECONNREFUSED');
  });

  it('a connection dropped by the target mid-request is retried as a network error', async () => {
    await setup((_req, res, i) => {
      if (i === 0) {
        res.socket!.destroy();
        return;
      }
      res.end('second time lucky');
    });
    const res = await post();
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('second time lucky');
    expect(target!.received).toHaveLength(2);
  });

  it('a connection dropped on every attempt: 502 UPSTREAM_UNREACHABLE', async () => {
    await setup((_req, res) => void res.socket!.destroy(), '{ attempts: 2, minDelay: 10ms }');
    const res = await post();
    expect(res.status).toBe(502);
    const body = (await res.json()) as ErrorBody;
    expect(body).toMatchObject({ error: 'HOOKRELAY_ERR_UPSTREAM_UNREACHABLE', attempts: 2 });
    expect(body.lastError).toBeTruthy();
  });

  it.each([400, 404, 422])(
    '%i is not retried: one request, downstream status, body and content type',
    async (status) => {
      await setup((_req, res) => {
        res.statusCode = status;
        res.setHeader('content-type', 'application/problem+json');
        res.end(`{"title":"rejected","status":${status}}`);
      });
      const res = await post();
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(await res.text()).toBe(`{"title":"rejected","status":${status}}`);
      expect(res.headers.get('x-request-id')).toBe('req-retry-1');
      expect(target!.received).toHaveLength(1);
    },
  );

  it.each([408, 429, 500, 502, 504])('%i is retried by default', async (status) => {
    await setup(sequence([status, 200]));
    const res = await post();
    expect(res.status).toBe(200);
    expect(target!.received).toHaveLength(2);
  });

  it('retryOn is configurable: [409] retries 409 and no longer 503', async () => {
    await setup(sequence([409, 409, 201]), '{ attempts: 3, minDelay: 10ms, retryOn: [409] }');
    const ok = await post();
    expect(ok.status).toBe(201);
    expect(target!.received).toHaveLength(3);
    await relay.close();
    await target!.close();

    await setup(sequence([503, 200]), '{ attempts: 3, minDelay: 10ms, retryOn: [409] }');
    const rejected = await post();
    expect(rejected.status).toBe(503);
    expect(await rejected.text()).toBe('{"status":503}');
    expect(target!.received).toHaveLength(1);
  });

  it('retryOn accepts a status class', async () => {
    await setup(sequence([418, 200]), '{ attempts: 2, minDelay: 10ms, retryOn: ["4xx"] }');
    const res = await post();
    expect(res.status).toBe(200);
    expect(target!.received).toHaveLength(2);
  });

  it('a retryable status on the last attempt is reported, not relayed as success', async () => {
    await setup(sequence([500, 503]), '{ attempts: 2, minDelay: 10ms }');
    const res = await post();
    expect(res.status).toBe(502);
    expect(((await res.json()) as ErrorBody).lastError).toBe('target answered 503');
  });
  it('concurrent deliveries with retries each get their own answer', async () => {
    const tries = new Map<string, number>();
    await setup((req, res) => {
      const id = String(req.headers['x-request-id']);
      const n = (tries.get(id) ?? 0) + 1;
      tries.set(id, n);
      // Every request fails once, so each delivery needs its own retry.
      res.statusCode = n === 1 ? 503 : 200;
      res.end(n === 1 ? 'busy' : `${id}:${req.body.toString()}`);
    });
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const res = await fetch(`${relay.url}/in/retry`, {
          method: 'POST',
          headers: { 'x-request-id': `c-${i}` },
          body: `body-${i}`,
        });
        return [res.status, await res.text()];
      }),
    );
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => [200, `c-${i}:body-${i}`]));
    expect(target!.received).toHaveLength(40);
  });
});
