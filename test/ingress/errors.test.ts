import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorBody } from '../../src/pipeline/reply.ts';
import { type Relay, startRelay, startTarget, type Target } from '../helpers.ts';

/** 404, 405 and 413 are answered by the relay itself: JSON errors, and nothing reaches the target. */
describe('ingress errors', () => {
  let target: Target;
  let relay: Relay;
  beforeAll(async () => {
    target = await startTarget();
    relay = await startRelay(`
routes:
  - id: orders
    path: /in/orders
    methods: [POST, PUT]
    limits: { body: 1kb }
    forward:
      url: ${target.url}/hook
`);
  });
  afterAll(async () => {
    await relay?.close();
    await target?.close();
  });

  it('404 for an unknown path: JSON error with code and request id', async () => {
    const res = await fetch(`${relay.url}/in/nothing-here?x=1`, {
      method: 'POST',
      headers: { 'x-request-id': 'nf-1' },
      body: 'x',
    });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('x-request-id')).toBe('nf-1');
    expect((await res.json()) as ErrorBody).toEqual({
      error: 'HOOKRELAY_ERR_ROUTE_NOT_FOUND',
      message: 'no route matches POST /in/nothing-here',
      status: 404,
      route: null,
      requestId: 'nf-1',
    });
    expect(target.received).toHaveLength(0);
  });

  it('404 mints a request id when the caller sends none (or an unusable one)', async () => {
    const res = await fetch(`${relay.url}/nope`, { headers: { 'x-request-id': 'has spaces & <tags>' } });
    expect(res.status).toBe(404);
    const body = (await res.json()) as ErrorBody;
    expect(body.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get('x-request-id')).toBe(body.requestId);
  });

  it('405 with an Allow header for a known path and another method', async () => {
    const res = await fetch(`${relay.url}/in/orders`, {
      method: 'DELETE',
      headers: { 'x-request-id': 'm-1' },
    });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST, PUT');
    expect((await res.json()) as ErrorBody).toMatchObject({
      error: 'HOOKRELAY_ERR_METHOD_NOT_ALLOWED',
      status: 405,
      route: 'orders',
      requestId: 'm-1',
      message: 'route accepts POST, PUT, not DELETE',
    });
    expect(target.received).toHaveLength(0);
  });

  it('405 for GET on a POST route (GET is not implied)', async () => {
    const res = await fetch(`${relay.url}/in/orders/`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST, PUT');
  });

  it('413 from Content-Length before reading, and the target receives nothing', async () => {
    const res = await fetch(`${relay.url}/in/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(1025, 1),
    });
    expect(res.status).toBe(413);
    expect((await res.json()) as ErrorBody).toMatchObject({
      error: 'HOOKRELAY_ERR_BODY_TOO_LARGE',
      route: 'orders',
      message: 'request body exceeds the route limit of 1024 bytes',
    });
    expect(target.received).toHaveLength(0);
  });

  it('a body of exactly the limit is accepted', async () => {
    const before = target.received.length;
    const res = await fetch(`${relay.url}/in/orders`, { method: 'POST', body: Buffer.alloc(1024, 2) });
    expect(res.status).toBe(200);
    expect(target.received).toHaveLength(before + 1);
    expect(target.received.at(-1)!.body.length).toBe(1024);
  });

  it('413 while reading a chunked body without Content-Length', async () => {
    const before = target.received.length;
    const { status, headers, body } = await new Promise<{
      status: number;
      headers: Record<string, unknown>;
      body: string;
    }>((resolve, reject) => {
      const url = new URL(`${relay.url}/in/orders`);
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: { 'transfer-encoding': 'chunked' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode!,
              headers: res.headers,
              body: Buffer.concat(chunks).toString(),
            }),
          );
        },
      );
      // The socket may be closed by the relay while we still write: that is expected.
      req.on('error', (error) => (error.message.includes('EPIPE') ? undefined : reject(error)));
      expect(req.getHeader('content-length')).toBeUndefined();
      // Several small chunks, together over the limit; the request is never ended by us.
      for (let i = 0; i < 5; i++) req.write(Buffer.alloc(300, i));
    });
    expect(status).toBe(413);
    // Answered before the body was read: the connection is closed after the answer (the rest of
    // the upload is drained and dropped meanwhile), never reused for a next request.
    expect(headers.connection).toBe('close');
    expect(JSON.parse(body)).toMatchObject({ error: 'HOOKRELAY_ERR_BODY_TOO_LARGE', route: 'orders' });
    expect(target.received).toHaveLength(before);
  });

  it('a chunked body under the limit is forwarded with a Content-Length', async () => {
    const before = target.received.length;
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${relay.url}/in/orders`);
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: { 'transfer-encoding': 'chunked' },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        },
      );
      req.on('error', reject);
      req.write('part one, ');
      req.end('part two');
    });
    expect(status).toBe(200);
    expect(target.received).toHaveLength(before + 1);
    const got = target.received.at(-1)!;
    expect(got.body.toString()).toBe('part one, part two');
    expect(got.headers['content-length']).toBe('18');
    expect(got.headers['transfer-encoding']).toBeUndefined();
  });

  it('the relay still serves after the refused uploads', async () => {
    const res = await fetch(`${relay.url}/in/orders`, { method: 'PUT', body: 'ok' });
    expect(res.status).toBe(200);
  });

  it('every answer above produced one log line with route and status', () => {
    const lines = relay.logs.filter((l) => l.msg === 'request');
    expect(lines.map((l) => l.status)).toEqual([404, 404, 405, 405, 413, 200, 413, 200, 200]);
    for (const line of lines) expect(typeof line.requestId).toBe('string');
    expect(lines[2]).toMatchObject({ route: 'orders', code: 'HOOKRELAY_ERR_METHOD_NOT_ALLOWED' });
  });
});
