import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, refusedPort, sample, startRelay, startTarget, type Target } from '../helpers.ts';
import { once, type RawTarget, rawRequest, startRawTarget } from './support.ts';

/** `delivery: stream` routes against real targets: headers, credentials, failures, metrics, logs. */

let relay: Relay | undefined;
const targets: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await relay?.close();
  relay = undefined;
  for (const t of targets.splice(0)) await t.close();
});

async function target(handler?: Parameters<typeof startTarget>[0]): Promise<Target> {
  const t = await startTarget(handler);
  targets.push(t);
  return t;
}

async function rawTarget(handler: Parameters<typeof startRawTarget>[0]): Promise<RawTarget> {
  const t = await startRawTarget(handler);
  targets.push(t);
  return t;
}

function route(url: string, extra = ''): string {
  return `
routes:
  - id: files
    path: /files/*
    methods: [GET, POST, PUT, DELETE]
    delivery: stream
    forward:
      url: ${url}/store
${extra}`;
}

describe('headers and credentials', () => {
  it('injects bearer credentials; the caller Authorization and Cookie never arrive', async () => {
    const t = await target();
    relay = await startRelay(
      route(t.url, '      auth: { type: bearer, token: "${TOKEN}" }\n      headers: { X-Source: hookrelay }'),
      { TOKEN: 'target-s3cret' },
    );
    const res = await rawRequest(relay.url, '/files/a.txt', {
      method: 'PUT',
      body: 'hello',
      headers: {
        authorization: 'Bearer caller-token',
        cookie: 'session=caller',
        'content-type': 'text/plain',
        'x-request-id': 'req-42',
        'x-custom': 'kept',
      },
    });
    expect(res.status).toBe(200);
    expect(res.headers['x-request-id']).toBe('req-42');
    const got = t.received[0]!;
    expect(got.method).toBe('PUT');
    expect(got.url).toBe('/store/a.txt');
    expect(got.body.toString()).toBe('hello');
    expect(got.headers.authorization).toBe('Bearer target-s3cret');
    expect(got.headers.cookie).toBeUndefined();
    expect(got.headers['x-source']).toBe('hookrelay');
    expect(got.headers['x-custom']).toBe('kept');
    expect(got.headers['content-type']).toBe('text/plain');
    expect(got.headers['x-request-id']).toBe('req-42');
    expect(got.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(got.headers['x-forwarded-proto']).toBe('http');
    expect(got.headers['x-forwarded-host']).toBe(new URL(relay.url).host);
    expect(got.headers.host).toBe(new URL(t.url).host);
    expect(JSON.stringify(relay.logs)).not.toContain('target-s3cret');
  });

  it.each([
    [
      'basic',
      '{ type: basic, username: svc, password: pw }',
      (r: Target['received'][number]) => r.headers.authorization,
      `Basic ${Buffer.from('svc:pw').toString('base64')}`,
    ],
    [
      'header',
      '{ type: header, name: X-Api-Key, value: k1 }',
      (r: Target['received'][number]) => r.headers['x-api-key'],
      'k1',
    ],
    [
      'query',
      '{ type: query, name: api_key, value: k2 }',
      (r: Target['received'][number]) => new URL(r.url, 'http://x').searchParams.get('api_key'),
      'k2',
    ],
  ])('%s credentials arrive as configured', async (_name, auth, read, expected) => {
    const t = await target();
    relay = await startRelay(route(t.url, `      auth: ${auth}`));
    const res = await rawRequest(relay.url, '/files/x?keep=1', { headers: { 'x-api-key': 'caller' } });
    expect(res.status).toBe(200);
    expect(read(t.received[0]!)).toBe(expected);
    expect(new URL(t.received[0]!.url, 'http://x').searchParams.get('keep')).toBe('1');
  });

  it('oauth2 credentials: a token is fetched and sent as a bearer', async () => {
    const { startTokenServer } = await import('../auth/token-server.ts');
    const tokens = await startTokenServer({ clientId: 'relay', clientSecret: 'oauth-s3cret' });
    targets.push(tokens);
    const t = await target();
    relay = await startRelay(
      route(
        t.url,
        `      auth: { type: oauth2, tokenUrl: "${tokens.url}", clientId: relay, clientSecret: oauth-s3cret }`,
      ),
    );
    expect((await rawRequest(relay.url, '/files/1')).status).toBe(200);
    expect((await rawRequest(relay.url, '/files/2')).status).toBe(200);
    expect(t.received.map((r) => r.headers.authorization)).toEqual(['Bearer tok-1', 'Bearer tok-1']);
    expect(tokens.requests).toHaveLength(1);
  });

  it('passHeaders may forward the caller Authorization', async () => {
    const t = await target();
    relay = await startRelay(route(t.url, '      passHeaders: [authorization]'));
    await rawRequest(relay.url, '/files/x', {
      headers: { authorization: 'Bearer caller', 'x-other': 'dropped', 'content-type': 'text/plain' },
    });
    const got = t.received[0]!.headers;
    expect(got.authorization).toBe('Bearer caller');
    expect(got['x-other']).toBeUndefined();
    expect(got['content-type']).toBe('text/plain');
  });

  it('hop-by-hop headers, and those named in Connection, are dropped both ways', async () => {
    const t = await rawTarget((req, res) => {
      res.setHeader('x-seen', JSON.stringify(req.headers));
      res.setHeader('connection', 'x-target-hop');
      res.setHeader('x-target-hop', 'secret-hop');
      res.setHeader('proxy-authenticate', 'Basic');
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    relay = await startRelay(route(t.url));
    const res = await rawRequest(relay.url, '/files/x', {
      headers: {
        connection: 'x-caller-hop',
        'x-caller-hop': 'v',
        'proxy-authorization': 'Basic x',
        te: 'trailers',
        'keep-alive': 'timeout=5',
      },
    });
    const seen = JSON.parse(res.headers['x-seen'] as string) as Record<string, string>;
    expect(res.status).toBe(200);
    for (const name of ['x-caller-hop', 'proxy-authorization', 'te', 'keep-alive']) {
      expect(seen[name], name).toBeUndefined();
    }
    expect(res.headers['x-target-hop']).toBeUndefined();
    expect(res.headers['proxy-authenticate']).toBeUndefined();
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);
  });

  it('a redirect is relayed, not followed', async () => {
    const t = await target((_r, res) => {
      res.statusCode = 302;
      res.setHeader('location', '/elsewhere');
      res.end();
    });
    relay = await startRelay(route(t.url));
    const res = await rawRequest(relay.url, '/files/x');
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/elsewhere');
    expect(t.received).toHaveLength(1);
  });
});

describe('verify on a stream route', () => {
  it('apiKey and basic check the caller before anything is forwarded; the key is not forwarded', async () => {
    const t = await target();
    relay = await startRelay(
      `
routes:
  - id: files
    path: /files/*
    methods: [POST]
    delivery: stream
    verify:
      - { type: apiKey, header: X-Api-Key, keys: ["\${KEY}"] }
    forward: { url: "${t.url}" }
`,
      { KEY: 'caller-key-123456' },
    );
    const refused = await rawRequest(relay.url, '/files/x', { method: 'POST', body: 'x'.repeat(100_000) });
    expect(refused.status).toBe(401);
    const ok = await rawRequest(relay.url, '/files/x', {
      method: 'POST',
      body: 'data',
      headers: { 'x-api-key': 'caller-key-123456' },
    });
    expect(ok.status).toBe(200);
    expect(t.received).toHaveLength(1);
    expect(t.received[0]!.headers['x-api-key']).toBeUndefined();
  });
});

describe('failures', () => {
  it('a refused connection answers 502 JSON with the code', async () => {
    const port = await refusedPort();
    relay = await startRelay(route(`http://127.0.0.1:${port}`));
    const res = await rawRequest(relay.url, '/files/x', { method: 'POST', body: 'abc' });
    expect(res.status).toBe(502);
    expect(res.headers['content-type']).toContain('application/json');
    const body = JSON.parse(res.body);
    expect(body).toMatchObject({ error: 'HOOKRELAY_ERR_UPSTREAM_UNREACHABLE', route: 'files', attempts: 1 });
    expect(body.message).toContain('connection refused');
    expect(body.requestId).toBe(res.headers['x-request-id']);
  });

  it('retryRefused: exactly one more attempt when refused, then 502 with 2 attempts', async () => {
    const port = await refusedPort();
    relay = await startRelay(route(`http://127.0.0.1:${port}`, '    stream: { retryRefused: true }'));
    const res = await rawRequest(relay.url, '/files/x', { method: 'POST', body: 'abc' });
    expect(res.status).toBe(502);
    expect(JSON.parse(res.body).attempts).toBe(2);
    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    expect(sample(metrics, 'hookrelay_forward_retries_total', { route: 'files' })).toBe(1);
    expect(
      sample(metrics, 'hookrelay_forward_attempts_total', { route: 'files', outcome: 'network_error' }),
    ).toBe(2);
  });

  it('retryRefused does not retry once the body was read: the target reset after taking bytes', async () => {
    let connections = 0;
    const t = await rawTarget((req) => {
      connections++;
      req.once('data', () => req.socket.destroy());
    });
    relay = await startRelay(route(t.url, '    stream: { retryRefused: true }'));
    const res = await rawRequest(relay.url, '/files/x', { method: 'POST', body: 'x'.repeat(64 * 1024) });
    expect(res.status).toBe(502);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'HOOKRELAY_ERR_UPSTREAM_UNREACHABLE', attempts: 1 });
    expect(connections).toBe(1);
  });

  it('a target that never answers: 504 after stream.idleTimeout, the upstream request aborted', async () => {
    let upstreamClosed: Promise<unknown> | undefined;
    const t = await rawTarget((req) => {
      upstreamClosed = once(req.socket, 'close');
      req.resume();
    });
    relay = await startRelay(route(t.url, '    stream: { idleTimeout: 300ms }'));
    const res = await rawRequest(relay.url, '/files/x', { method: 'POST', body: 'abc' });
    expect(res.status).toBe(504);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'HOOKRELAY_ERR_UPSTREAM_TIMEOUT' });
    expect(JSON.parse(res.body).message).toContain('stream.idleTimeout');
    await upstreamClosed;
  });

  it('a declared Content-Length over limits.body: 413 before the target is contacted', async () => {
    const t = await target();
    relay = await startRelay(route(t.url, '    limits: { body: 1kb }'));
    const res = await rawRequest(relay.url, '/files/x', { method: 'POST', body: 'x'.repeat(4096) });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error).toBe('HOOKRELAY_ERR_BODY_TOO_LARGE');
    expect(t.received).toHaveLength(0);
  });

  it('a chunked body crossing limits.body: 413 to the caller, the upstream request aborted', async () => {
    let upstream: Promise<{ aborted: boolean; bytes: number }> | undefined;
    let flowing!: () => void;
    const arrived = new Promise<void>((r) => {
      flowing = r;
    });
    const t = await rawTarget((req) => {
      upstream = new Promise((resolve) => {
        let bytes = 0;
        req.on('data', (c: Buffer) => {
          bytes += c.length;
          flowing();
        });
        req.on('close', () => resolve({ aborted: !req.complete, bytes }));
      });
    });
    relay = await startRelay(route(t.url, '    limits: { body: 64kb }'));
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${relay!.url}/files/x`, { method: 'POST', agent: false }, (r) => {
        let body = '';
        r.setEncoding('utf8').on('data', (c: string) => {
          body += c;
        });
        r.on('end', () => resolve({ status: r.statusCode!, body }));
      });
      req.on('error', reject);
      // No Content-Length: chunked. The first 16 KiB reach the target, then 240 KiB more.
      const chunk = Buffer.alloc(16 * 1024, 'x');
      req.write(chunk);
      void arrived.then(() => {
        for (let i = 0; i < 15; i++) req.write(chunk);
        req.end();
      });
    });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error).toBe('HOOKRELAY_ERR_BODY_TOO_LARGE');
    const seen = await upstream!;
    expect(seen.aborted).toBe(true);
    expect(seen.bytes).toBeLessThanOrEqual(64 * 1024);
  });

  it('the caller aborting mid-upload aborts the upstream request', async () => {
    let result: Promise<{ ended: boolean; aborted: boolean }> | undefined;
    let gotBytes!: () => void;
    const started = new Promise<void>((r) => {
      gotBytes = r;
    });
    const t = await rawTarget((req) => {
      result = new Promise((resolve) => {
        let ended = false;
        req.on('end', () => {
          ended = true;
        });
        req.on('close', () => resolve({ ended, aborted: req.destroyed && !req.complete }));
      });
      req.once('data', () => gotBytes());
      req.resume();
    });
    relay = await startRelay(route(t.url));
    const caller = request(`${relay.url}/files/x`, { method: 'POST', agent: false });
    caller.on('error', () => {});
    caller.write(Buffer.alloc(32 * 1024, 'a'));
    await started;
    caller.destroy();
    const seen = await result!;
    expect(seen.ended).toBe(false);
    expect(seen.aborted).toBe(true);
    // The relay logs the caller as gone (499), once the exchange settled.
    await expect
      .poll(() => relay!.logs.find((l) => l.msg === 'request'))
      .toMatchObject({
        status: 499,
        code: 'HOOKRELAY_ERR_CLIENT_CLOSED',
        route: 'files',
      });
  });

  it('the target resetting mid-answer closes the caller connection', async () => {
    const t = await rawTarget((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-length': String(1024 * 1024) });
      res.write(Buffer.alloc(64 * 1024, 'z'), () => setImmediate(() => res.socket!.destroy()));
    });
    relay = await startRelay(route(t.url));
    const outcome = await new Promise<{ status: number; bytes: number; error: string }>((resolve) => {
      const req = request(`${relay!.url}/files/x`, { agent: false }, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
        });
        res.on('error', (e) => resolve({ status: res.statusCode!, bytes, error: e.message }));
        res.on('end', () => resolve({ status: res.statusCode!, bytes, error: 'ended' }));
      });
      req.on('error', (e) => resolve({ status: 0, bytes: 0, error: e.message }));
      req.end();
    });
    expect(outcome.status).toBe(200);
    expect(outcome.error).toBe('aborted');
    expect(outcome.bytes).toBeLessThan(1024 * 1024);
    await expect
      .poll(() => relay!.logs.find((l) => l.msg === 'request'))
      .toMatchObject({
        status: 200,
        result: 'aborted',
        code: 'HOOKRELAY_ERR_UPSTREAM_ABORTED',
      });
  });
});

describe('metrics and the request log line', () => {
  it('counts requests, bytes, attempts and in-flight like buffered routes', async () => {
    const t = await target((r, res) => {
      res.end(createHash('sha256').update(r.body).digest('hex'));
    });
    relay = await startRelay(route(t.url));
    const body = Buffer.alloc(300_000, 7);
    const res = await rawRequest(relay.url, '/files/x', { method: 'POST', body });
    expect(res.body).toBe(createHash('sha256').update(body).digest('hex'));
    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    const route_ = { route: 'files' };
    expect(sample(metrics, 'hookrelay_requests_total', { ...route_, method: 'POST', status: '200' })).toBe(1);
    expect(sample(metrics, 'hookrelay_request_body_bytes_total', route_)).toBe(300_000);
    expect(sample(metrics, 'hookrelay_response_body_bytes_total', route_)).toBe(64);
    expect(sample(metrics, 'hookrelay_forward_attempts_total', { ...route_, outcome: '2xx' })).toBe(1);
    expect(
      sample(metrics, 'hookrelay_upstream_request_duration_seconds_count', { ...route_, outcome: '2xx' }),
    ).toBe(1);
    expect(sample(metrics, 'hookrelay_deliveries_total', { ...route_, result: 'delivered' })).toBe(1);
    expect(sample(metrics, 'hookrelay_requests_in_flight', route_)).toBe(0);
    const lines = relay.logs.filter((l) => l.msg === 'request');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      route: 'files',
      method: 'POST',
      status: 200,
      attempts: 1,
      bytesIn: 300_000,
      bytesOut: 64,
      result: 'delivered',
      requestId: res.headers['x-request-id'],
    });
    expect(typeof lines[0]!.durationMs).toBe('number');
  });

  it('an error is counted with its code', async () => {
    const port = await refusedPort();
    relay = await startRelay(route(`http://127.0.0.1:${port}`));
    await rawRequest(relay.url, '/files/x');
    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    expect(
      sample(metrics, 'hookrelay_errors_total', {
        route: 'files',
        code: 'HOOKRELAY_ERR_UPSTREAM_UNREACHABLE',
      }),
    ).toBe(1);
  });

  it('a stream in flight holds a graceful stop until it finished', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let answering!: () => void;
    const started = new Promise<void>((r) => {
      answering = r;
    });
    const t = await rawTarget((req, res) => {
      req.resume();
      res.writeHead(200);
      res.write('first;');
      answering();
      void gate.then(() => res.end('last'));
    });
    relay = await startRelay(route(t.url));
    const body = fetch(`${relay.url}/files/x`).then((r) => r.text());
    await started;
    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    expect(sample(metrics, 'hookrelay_requests_in_flight', { route: 'files' })).toBe(1);
    const stopped = relay.app.stop(10_000);
    release();
    expect(await stopped).toEqual({ drained: true });
    expect(await body).toBe('first;last');
    relay = undefined;
  });
});

describe('slow uploads', () => {
  /** Sends `chunks` pieces of 1 KiB, `gapMs` apart, chunked; resolves with the status. */
  function tricklePost(url: string, chunks: number, gapMs: number): Promise<number> {
    return new Promise((resolve) => {
      const req = request(url, { method: 'POST', agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', () => resolve(0));
      let sent = 0;
      const next = () => {
        if (sent++ === chunks) {
          req.end();
          return;
        }
        req.write(Buffer.alloc(1024, 'a'));
        setTimeout(next, gapMs);
      };
      next();
    });
  }

  const yaml = (url: string) => `
server: { headersTimeout: 400ms, requestTimeout: 800ms }
routes:
  - id: files
    path: /files/*
    methods: [POST]
    delivery: stream
    forward: { url: "${url}" }
  - id: hook
    path: /hook
    forward: { url: "${url}" }
`;

  it('server.requestTimeout does not cut a stream upload that keeps moving; it does cut a webhook', async () => {
    const t = await target((r, res) => {
      res.end(String(r.body.length));
    });
    relay = await startRelay(yaml(t.url));
    // ~1.6 s of upload, a chunk every 200 ms: twice the request timeout, never idle for long.
    expect(await tricklePost(`${relay.url}/files/x`, 8, 200)).toBe(200);
    expect(t.received[0]!.body.length).toBe(8 * 1024);
    // The same sender on a buffered route is cut off (408, or the connection closed).
    expect([408, 0]).toContain(await tricklePost(`${relay.url}/hook`, 8, 200));
  });
});
