import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, startRelay, startTarget, type Target, type TargetHandler } from '../helpers.ts';

/**
 * Header hygiene on a real hop: node:http requests (fetch refuses to send hop-by-hop headers) to
 * the relay, and the downstream records what it got.
 */
describe('forwarded headers', () => {
  let target: Target;
  let relay: Relay;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
  });

  async function setup(forwardExtra = '', handler?: TargetHandler) {
    target = await startTarget(handler);
    relay = await startRelay(`
routes:
  - id: hdr
    path: /in/hdr
    forward:
      url: ${target.url}/hook
${forwardExtra}`);
  }

  /** POSTs with exactly these raw headers. */
  function send(headers: Record<string, string | string[]>, body = '{"x":1}') {
    return new Promise<{
      status: number;
      headers: Record<string, string | string[] | undefined>;
      body: string;
    }>((resolve, reject) => {
      const url = new URL(`${relay.url}/in/hdr`);
      const req = request(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers, agent: false },
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
      req.on('error', reject);
      req.end(body);
    });
  }

  const callerHeaders = {
    'content-type': 'application/json',
    connection: 'keep-alive, X-Custom-Hop',
    'keep-alive': 'timeout=5',
    te: 'trailers',
    upgrade: 'h2c',
    'proxy-authorization': 'Basic cHJveHk6c2VjcmV0',
    'proxy-connection': 'keep-alive',
    'x-custom-hop': 'only-for-the-next-hop',
    host: 'relay.example.com',
    authorization: 'Bearer callers-token',
    cookie: 'session=abc; theme=dark',
    'x-erp-event': 'order.created',
    'x-other': 'kept by default',
    'user-agent': 'LegacyERP/4.2',
    'x-forwarded-for': '203.0.113.9',
  };

  it('by default: hop-by-hop, Host, Authorization and Cookie are stripped; end-to-end headers pass', async () => {
    await setup();
    const res = await send(callerHeaders);
    expect(res.status).toBe(200);
    const got = target.received[0]!.headers;
    for (const name of [
      'keep-alive',
      'te',
      'upgrade',
      'proxy-authorization',
      'proxy-connection',
      'x-custom-hop',
      'authorization',
      'cookie',
    ]) {
      expect(got[name], name).toBeUndefined();
    }
    expect(got.connection).not.toContain('X-Custom-Hop');
    expect(got.host).toBe(`127.0.0.1:${target.port}`);
    expect(got['x-erp-event']).toBe('order.created');
    expect(got['x-other']).toBe('kept by default');
    expect(got['user-agent']).toBe('LegacyERP/4.2');
    expect(got['content-type']).toBe('application/json');
    expect(got['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
    expect(got['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers['x-request-id']).toBe(got['x-request-id']);
    expect(relay.logs.find((l) => l.msg === 'request')!.requestId).toBe(got['x-request-id']);
  });

  it('with passHeaders only the listed caller headers pass, Authorization included when listed', async () => {
    await setup('      passHeaders: [X-Erp-Event, authorization, content-type, te, x-custom-hop]');
    const res = await send({ ...callerHeaders, 'x-request-id': 'erp-42' });
    expect(res.status).toBe(200);
    const got = target.received[0]!.headers;
    expect(got.authorization).toBe('Bearer callers-token');
    expect(got['x-erp-event']).toBe('order.created');
    expect(got['content-type']).toBe('application/json');
    for (const name of ['x-other', 'cookie', 'user-agent', 'keep-alive', 'upgrade', 'proxy-authorization']) {
      expect(got[name], name).toBeUndefined();
    }
    // Hop-by-hop headers stay hop-by-hop even when listed.
    expect(got.te).toBeUndefined();
    expect(got['x-custom-hop']).toBeUndefined();
    expect(got.host).toBe(`127.0.0.1:${target.port}`);
    // The relay's own headers are added regardless of the list.
    expect(got['x-request-id']).toBe('erp-42');
    expect(got['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
    expect(res.headers['x-request-id']).toBe('erp-42');
  });

  it('Cookie passes when listed', async () => {
    await setup('      passHeaders: [cookie]');
    await send({ cookie: 'session=abc; theme=dark' });
    expect(target.received[0]!.headers.cookie).toBe('session=abc; theme=dark');
  });

  it('X-Forwarded-For is started when the caller sends none', async () => {
    await setup();
    await send({ 'content-type': 'application/json' });
    expect(target.received[0]!.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('static headers from config arrive and win over a caller header of the same name', async () => {
    await setup(
      '      headers: { X-Source: legacy-erp, X-Erp-Event: overridden, Content-Type: application/vnd.erp+json }',
    );
    await send(callerHeaders);
    const got = target.received[0]!.headers;
    expect(got['x-source']).toBe('legacy-erp');
    expect(got['x-erp-event']).toBe('overridden');
    expect(got['content-type']).toBe('application/vnd.erp+json');
  });

  it('target response: hop-by-hop removed, content type and other headers kept, x-request-id added', async () => {
    await setup('', (_req, res) => {
      res.setHeader('content-type', 'application/xml; charset=utf-8');
      res.setHeader('connection', 'keep-alive, x-private-hop');
      res.setHeader('keep-alive', 'timeout=5');
      res.setHeader('x-private-hop', 'secret-to-the-relay');
      res.setHeader('proxy-authenticate', 'Basic realm="proxy"');
      res.setHeader('upgrade', 'h2c');
      res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
      res.setHeader('x-target-trace', 'tt-1');
      res.setHeader('x-request-id', 'target-own-id');
      res.statusCode = 201;
      res.end('<ok/>');
    });
    const res = await send({ 'content-type': 'application/json', 'x-request-id': 'caller-id' });
    expect(res.status).toBe(201);
    expect(res.body).toBe('<ok/>');
    expect(res.headers['content-type']).toBe('application/xml; charset=utf-8');
    expect(res.headers['content-length']).toBe('5');
    expect(res.headers['x-target-trace']).toBe('tt-1');
    expect(res.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    expect(res.headers['x-request-id']).toBe('caller-id');
    for (const name of ['x-private-hop', 'proxy-authenticate', 'upgrade']) {
      expect(res.headers[name], name).toBeUndefined();
    }
    expect(res.headers['keep-alive']).not.toBe('timeout=5');
  });

  it('the relay answers a chunked target response with a Content-Length', async () => {
    await setup('', (_req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.write('one ');
      res.end('two');
    });
    const res = await send({});
    expect(res.body).toBe('one two');
    expect(res.headers['content-length']).toBe('7');
    expect(res.headers['transfer-encoding']).toBeUndefined();
  });
  it('a custom server.requestIdHeader is read, forwarded and answered instead of X-Request-Id', async () => {
    target = await startTarget();
    relay = await startRelay(`
server: { requestIdHeader: X-Correlation-Id }
routes:
  - id: hdr
    path: /in/hdr
    forward:
      url: ${target.url}/hook
`);
    const res = await send({ 'x-correlation-id': 'corr-9', 'x-request-id': 'just-a-header' });
    expect(res.status).toBe(200);
    const got = target.received[0]!.headers;
    expect(got['x-correlation-id']).toBe('corr-9');
    expect(got['x-request-id']).toBe('just-a-header');
    expect(res.headers['x-correlation-id']).toBe('corr-9');
    expect(relay.logs.find((l) => l.msg === 'request')!.requestId).toBe('corr-9');
  });
});
