import { request } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/core/errors.ts';
import { DEFAULT_LIMITS } from '../../src/ingress/server.ts';
import { type Relay, sample, startRelay, startTarget, type Target } from '../helpers.ts';

/**
 * The listener against hostile callers: trickled headers and bodies (408), oversized headers
 * (431) and bodies (413), malformed HTTP (400), too many requests at once (503), JSON nested too
 * deep. Every refusal is hookrelay's JSON error, counted and logged; nothing reaches the target.
 */

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Parses one HTTP/1.1 response with a Content-Length body (what hookrelay writes). */
function parseResponse(raw: string): RawResponse {
  const end = raw.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = raw.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine!.split(' ')[1]), headers, body: raw.slice(end + 4) };
}

/**
 * A raw TCP caller: writes `head` at once, then `trickle` one chunk at a time every `every` ms
 * (at most `max` chunks, so the loop is bounded), until the server answers and closes.
 */
function rawCall(
  url: string,
  head: string,
  trickle: { chunk: string; every: number; max: number } | undefined = undefined,
): Promise<{ response: RawResponse; sent: number }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let data = '';
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      data += chunk;
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      if (!data) reject(new Error(`connection closed without an answer after ${sent} chunks`));
      else resolve({ response: parseResponse(data), sent });
    });
    socket.write(head);
    if (trickle) {
      timer = setInterval(() => {
        if (sent >= trickle.max || socket.destroyed || !socket.writable) {
          clearInterval(timer);
          if (sent >= trickle.max) socket.destroy();
          return;
        }
        sent++;
        socket.write(trickle.chunk);
      }, trickle.every);
    }
  });
}

let target: Target | undefined;
let relay: Relay | undefined;
afterEach(async () => {
  await relay?.close();
  await target?.close();
  relay = undefined;
  target = undefined;
});

async function setup(server: string, routeExtra = '', handler?: Parameters<typeof startTarget>[0]) {
  target = await startTarget(handler);
  relay = await startRelay(`
server:
${server}
routes:
  - id: r
    path: /in
    forward:
      url: ${target.url}/hook
${routeExtra}`);
  return { target, relay };
}

async function metricsText(): Promise<string> {
  return (await fetch(`${relay!.url}/metrics`)).text();
}

describe('slow senders', () => {
  it('headers trickled past server.headersTimeout: 408 JSON error, no route, counted and logged', async () => {
    await setup('  headersTimeout: 200ms\n  requestTimeout: 2s');
    const { response } = await rawCall(relay!.url, 'POST /in HTTP/1.1\r\nHost: x\r\n', {
      chunk: 'X-Slow: a\r\n',
      every: 50,
      max: 400,
    });
    expect(response.status).toBe(408);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.headers.connection).toBe('close');
    const body = JSON.parse(response.body) as Record<string, unknown>;
    expect(body).toMatchObject({ error: 'HOOKRELAY_ERR_REQUEST_TIMEOUT', status: 408, route: null });
    expect(String(body.message)).toContain('server.headersTimeout');
    expect(body.requestId).toBe(response.headers['x-request-id']);
    expect(target!.received).toHaveLength(0);
    const text = await metricsText();
    expect(sample(text, 'hookrelay_http_client_errors_total', { reason: 'headers_timeout' })).toBe(1);
    expect(sample(text, 'hookrelay_errors_total', { code: 'HOOKRELAY_ERR_REQUEST_TIMEOUT' })).toBe(1);
    const line = relay!.logs.find((l) => l.msg === 'request' && l.status === 408);
    expect(line).toMatchObject({ code: 'HOOKRELAY_ERR_REQUEST_TIMEOUT', requestId: body.requestId });
  });

  it('a body trickled past server.requestTimeout: 408 JSON naming the route, nothing forwarded', async () => {
    await setup('  headersTimeout: 200ms\n  requestTimeout: 300ms');
    const head =
      'POST /in HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{';
    const { response } = await rawCall(relay!.url, head, { chunk: ' ', every: 50, max: 400 });
    expect(response.status).toBe(408);
    const body = JSON.parse(response.body) as Record<string, unknown>;
    expect(body).toMatchObject({ error: 'HOOKRELAY_ERR_REQUEST_TIMEOUT', route: 'r' });
    expect(String(body.message)).toContain('server.requestTimeout');
    expect(target!.received).toHaveLength(0);
    const text = await metricsText();
    expect(sample(text, 'hookrelay_http_client_errors_total', { reason: 'request_timeout' })).toBe(1);
    expect(
      sample(text, 'hookrelay_errors_total', { route: 'r', code: 'HOOKRELAY_ERR_REQUEST_TIMEOUT' }),
    ).toBe(1);
    expect(sample(text, 'hookrelay_requests_total', { route: 'r', status: '408' })).toBe(1);
    expect(relay!.logs.find((l) => l.msg === 'request' && l.status === 408)).toMatchObject({ route: 'r' });
  });

  it('a chunked body trickled past the timeout is cut off the same way', async () => {
    await setup('  headersTimeout: 200ms\n  requestTimeout: 300ms');
    const head = 'POST /in HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n';
    const { response } = await rawCall(relay!.url, head, { chunk: '1\r\na\r\n', every: 50, max: 400 });
    expect(response.status).toBe(408);
    expect(JSON.parse(response.body)).toMatchObject({ error: 'HOOKRELAY_ERR_REQUEST_TIMEOUT', route: 'r' });
    expect(target!.received).toHaveLength(0);
  });

  it('the timeout counts receiving only: a slow target does not turn a complete request into a 408', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    await setup('  headersTimeout: 100ms\n  requestTimeout: 150ms', '', async (_req, res) => {
      await released;
      res.end('late');
    });
    const answer = fetch(`${relay!.url}/in`, { method: 'POST', body: '{"a":1}' });
    while (target!.received.length === 0) await new Promise((r) => setTimeout(r, 20));
    // Well past requestTimeout, measured by the relay's own sweep, before the target answers.
    await new Promise((r) => setTimeout(r, 400));
    release();
    const res = await answer;
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('late');
  });
});

describe('oversized input', () => {
  it('headers larger than server.maxHeaderSize: 431 JSON error', async () => {
    await setup('  maxHeaderSize: 2kb');
    const head = `POST /in HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(4096)}\r\nContent-Length: 0\r\n\r\n`;
    const { response } = await rawCall(relay!.url, head);
    expect(response.status).toBe(431);
    const body = JSON.parse(response.body) as Record<string, unknown>;
    expect(body).toMatchObject({ error: 'HOOKRELAY_ERR_HEADERS_TOO_LARGE', route: null });
    expect(String(body.message)).toContain('2048 bytes');
    expect(target!.received).toHaveLength(0);
    const text = await metricsText();
    expect(sample(text, 'hookrelay_http_client_errors_total', { reason: 'headers_too_large' })).toBe(1);
  });

  it('headers within the limit pass', async () => {
    await setup('  maxHeaderSize: 8kb');
    const res = await fetch(`${relay!.url}/in`, {
      method: 'POST',
      headers: { 'x-big': 'a'.repeat(4096) },
      body: '{}',
    });
    expect(res.status).toBe(200);
    expect(target!.received[0]!.headers['x-big']).toHaveLength(4096);
  });

  it('a chunked body without Content-Length over limits.body: 413 while reading, nothing forwarded', async () => {
    await setup('  port: 0', '    limits: { body: 1kb }');
    const { port } = new URL(relay!.url);
    const result = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/in' }, (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          data += c;
        });
        res.on('end', () => resolve({ status: res.statusCode!, body: data }));
      });
      req.on('error', reject);
      // Bounded: 64 chunks of 512 bytes, far over the limit; no Content-Length, so chunked.
      let i = 0;
      const write = () => {
        while (i < 64 && !req.destroyed) {
          i++;
          if (!req.write(Buffer.alloc(512, 0x61))) {
            req.once('drain', write);
            return;
          }
        }
        if (!req.destroyed) req.end();
      };
      write();
    });
    expect(result.status).toBe(413);
    expect(JSON.parse(result.body)).toMatchObject({ error: 'HOOKRELAY_ERR_BODY_TOO_LARGE', route: 'r' });
    expect(target!.received).toHaveLength(0);
  });

  it('a declared Content-Length over limits.body: 413 before reading', async () => {
    await setup('  port: 0', '    limits: { body: 1kb }');
    const res = await fetch(`${relay!.url}/in`, { method: 'POST', body: 'a'.repeat(2048) });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: string }).error).toBe('HOOKRELAY_ERR_BODY_TOO_LARGE');
    expect(target!.received).toHaveLength(0);
  });

  it('an upload far over the limit, still being sent after the 413: the caller reads the answer, not a reset', async () => {
    await setup('  port: 0', '    limits: { body: 1kb }');
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const chunks = 128; // 8 MB, sent after the answer has been written
    // A raw socket: it keeps sending after the answer, as a legacy sender that does not read
    // while uploading would, and reports a reset if the relay closes on unread data.
    const { port } = new URL(relay!.url);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1');
      let text = '';
      socket.setEncoding('latin1');
      socket.on('data', (c: string) => {
        text += c;
      });
      socket.on('error', reject);
      socket.on('connect', async () => {
        socket.write(
          `POST /in HTTP/1.1\r\nhost: x\r\ncontent-type: text/plain\r\ncontent-length: ${chunk.length * chunks}\r\n\r\n`,
        );
        for (let i = 0; i < chunks; i++) {
          if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r));
        }
        // Everything was accepted; now close our side and read the answer to the end.
        socket.end();
      });
      socket.on('end', () => {
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
        resolve({ status, body: text.slice(text.indexOf('\r\n\r\n') + 4) });
      });
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'HOOKRELAY_ERR_BODY_TOO_LARGE', route: 'r' });
    expect(target!.received).toHaveLength(0);
  });

  it('bytes that are not HTTP: 400 JSON error, counted as malformed', async () => {
    await setup('  port: 0');
    const { response } = await rawCall(relay!.url, 'POST /in HTTP/1.1\r\nBad Header: x\r\n\r\n');
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({ error: 'HOOKRELAY_ERR_BAD_REQUEST', route: null });
    const text = await metricsText();
    expect(sample(text, 'hookrelay_http_client_errors_total', { reason: 'malformed' })).toBe(1);
  });
});

describe('server.maxConcurrentRequests', () => {
  it('beyond the cap: 503 with Retry-After and a JSON error; health and metrics stay reachable', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    await setup(
      '  maxConcurrentRequests: 2\n  perClient: { maxConcurrentRequests: 0 }',
      '',
      async (_req, res) => {
        await released;
        res.end('ok');
      },
    );
    const held = [1, 2].map((n) => fetch(`${relay!.url}/in`, { method: 'POST', body: `{"n":${n}}` }));
    for (let i = 0; i < 250 && target!.received.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(target!.received).toHaveLength(2);

    const refused = await fetch(`${relay!.url}/in`, { method: 'POST', body: '{"n":3}' });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    const body = (await refused.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ error: 'HOOKRELAY_ERR_OVERLOADED', route: 'r', status: 503 });
    expect(typeof body.requestId).toBe('string');
    expect((await fetch(`${relay!.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${relay!.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${relay!.url}/nope`)).status).toBe(404);
    const text = await metricsText();
    expect(sample(text, 'hookrelay_errors_total', { route: 'r', code: 'HOOKRELAY_ERR_OVERLOADED' })).toBe(1);
    expect(relay!.logs.find((l) => l.msg === 'request' && l.status === 503)).toMatchObject({
      route: 'r',
      code: 'HOOKRELAY_ERR_OVERLOADED',
    });

    release();
    for (const res of await Promise.all(held)) expect(res.status).toBe(200);
    expect(target!.received).toHaveLength(2);
    // Capacity is given back once the held requests finish.
    const after = await fetch(`${relay!.url}/in`, { method: 'POST', body: '{"n":4}' });
    expect(after.status).toBe(200);
  });
});

describe('JSON nesting depth', () => {
  const deep = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
  const JSON_TYPE = { 'content-type': 'application/json' };
  const nested = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

  it('a body deeper than limits.jsonDepth is refused with 400 before parsing; the relay survives', async () => {
    await setup('  port: 0', '    transform:\n      - type: map\n        fields: { x: a }');
    // Deep enough to overflow the stack of anything recursive that touched it.
    const res = await fetch(`${relay!.url}/in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: deep(200_000),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ error: 'HOOKRELAY_ERR_MALFORMED_BODY', route: 'r' });
    expect(String(body.message)).toContain('nested deeper than the limit of 64 levels (limits.jsonDepth)');
    expect(target!.received).toHaveLength(0);
    const ok = await fetch(`${relay!.url}/in`, { method: 'POST', headers: JSON_TYPE, body: nested(64) });
    expect(ok.status).toBe(200);
  });

  it('the largest limit that can be configured works: 1000 levels with long numbers, mapped whole', async () => {
    await setup(
      '  port: 0',
      '    limits: { jsonDepth: 1000 }\n    transform:\n      - type: map\n        keep: true\n        fields: { x: a }',
    );
    // Long numbers take the exact-digits parse (a reviver, which recurses) all the way down.
    const body = `${'{"a":'.repeat(999)}{"n":5738291046618274931,"a":1.50}${'}'.repeat(999)}`;
    const res = await fetch(`${relay!.url}/in`, { method: 'POST', headers: JSON_TYPE, body });
    expect(res.status).toBe(200);
    expect(target!.received[0]!.body.toString()).toContain('{"n":5738291046618274931,"a":1.50}');
  });

  it('a deeper limit than the parsers can take is a config error', async () => {
    await expect(setup('  port: 0', '    limits: { jsonDepth: 5000 }')).rejects.toThrow(
      /routes\[0\]\.limits\.jsonDepth: .*1000/,
    );
  });

  it('brackets inside strings do not count, and the limit is configurable per route', async () => {
    await setup(
      '  port: 0',
      '    limits: { jsonDepth: 3 }\n    transform:\n      - type: map\n        fields: { x: a }',
    );
    const inString = await fetch(`${relay!.url}/in`, {
      method: 'POST',
      headers: JSON_TYPE,
      body: JSON.stringify({ a: '[[[[[[{{{{\\"[[[[' }),
    });
    expect(inString.status).toBe(200);
    expect(JSON.parse(target!.received[0]!.body.toString())).toEqual({ x: '[[[[[[{{{{\\"[[[[' });
    const post = (body: string) => fetch(`${relay!.url}/in`, { method: 'POST', headers: JSON_TYPE, body });
    expect((await post(nested(3))).status).toBe(200);
    const tooDeep = await post(nested(4));
    expect(tooDeep.status).toBe(400);
    expect(((await tooDeep.json()) as { message: string }).message).toContain('limit of 3 levels');
  });

  it('a respond template over a deep body renders empty values instead of crashing', async () => {
    await setup('  port: 0', '    respond:\n      body: "got {{ body }}"');
    const res = await fetch(`${relay!.url}/in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: deep(200_000),
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('got ');
  });

  it('a deep target answer under response.transform is a 502, not a crash', async () => {
    await setup(
      '  port: 0',
      '    response:\n      transform:\n        - type: map\n          fields: { x: a }',
      (_req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end(deep(200_000));
      },
    );
    const res = await fetch(`${relay!.url}/in`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: string }).error).toBe('HOOKRELAY_ERR_RESPONSE_TRANSFORM_FAILED');
  });
});

describe('server limits in the config', () => {
  const routes = 'routes: [{ id: a, path: /a, echo: true }]';

  it('the schema defaults are the server defaults', () => {
    const {
      host: _h,
      port: _p,
      shutdownGrace: _s,
      requestIdHeader: _r,
      watchConfig: _w,
      ...limits
    } = parseConfig(routes, 'c.yaml').server;
    expect(limits).toEqual(DEFAULT_LIMITS);
  });

  it('accepts units, and refuses a headers timeout longer than the request timeout', () => {
    const config = parseConfig(
      `server: { maxHeaderSize: 32kb, requestTimeout: 2m, headersTimeout: 5s }\n${routes}`,
      'c.yaml',
    );
    expect(config.server).toMatchObject({
      maxHeaderSize: 32 * 1024,
      requestTimeout: 120_000,
      headersTimeout: 5_000,
    });
    let error: unknown;
    try {
      parseConfig(`server:\n  requestTimeout: 5s\n  headersTimeout: 10s\n${routes}`, 'c.yaml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(
      'c.yaml:3:3: server.headersTimeout: must not be longer than server.requestTimeout (5000 ms) [HOOKRELAY_CONFIG_CONFLICT]',
    );
  });
});
