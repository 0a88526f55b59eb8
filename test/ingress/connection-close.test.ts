import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, refusedPort, sample, startRelay, startTarget, type Target } from '../helpers.ts';
import { rawConnect, within } from '../support/raw-http.ts';

/**
 * `Connection: close` wherever the connection cannot be reused (RFC 9112 §9.6): on an answer given
 * before the request body was read (the rest of it would otherwise be parsed as the next request)
 * and on every answer once a graceful shutdown began. After such an answer nothing more is read as
 * HTTP on that connection, no request pipelined behind it is processed, and the connection ends
 * in order (FIN) after the unread bytes were drained, never with a reset.
 */

let target: Target | undefined;
let relay: Relay | undefined;
afterEach(async () => {
  await relay?.close();
  await target?.close();
  relay = undefined;
  target = undefined;
});

async function setup(extra = '', handler?: Parameters<typeof startTarget>[0], maxConcurrent = 1) {
  target = await startTarget(handler);
  const dead = await refusedPort();
  relay = await startRelay(`
server:
  maxConcurrentRequests: ${maxConcurrent}
  perClient: { maxConcurrentRequests: 0 }
${extra}
routes:
  - id: r
    path: /in
    methods: [POST]
    forward: { url: "${target.url}/hook" }
    limits: { body: 1kb }
  - id: s
    path: /files/*
    methods: [POST, PUT]
    delivery: stream
    verify:
      - { type: apiKey, header: X-Api-Key, keys: [k-0123456789] }
    forward: { url: "${target.url}/store" }
    limits: { body: 1kb }
  - id: down
    path: /down
    methods: [POST]
    delivery: stream
    forward: { url: "http://127.0.0.1:${dead}/x" }
`);
  return { target, relay, port: Number(new URL(relay.url).port) };
}

const head = (path: string, length: number, extra = '') =>
  `POST ${path} HTTP/1.1\r\nHost: relay\r\nContent-Type: text/plain\r\nContent-Length: ${length}\r\n${extra}\r\n`;
const second = 'POST /in HTTP/1.1\r\nHost: relay\r\nContent-Length: 2\r\n\r\n{}';

/** Expects an answer that closes the connection, with no Keep-Alive advertised. */
function expectClose(headers: Record<string, string>) {
  expect(headers.connection).toBe('close');
  expect(headers['keep-alive']).toBeUndefined();
}

describe('answers given before the body was read', () => {
  it('413 from Content-Length: Connection: close; a request sent after it is neither parsed nor answered; orderly close', async () => {
    const { port } = await setup();
    const conn = rawConnect(port);
    await conn.connected;
    // Headers only: a caller that reads the early answer stops sending the body.
    await conn.write(head('/in', 4096));
    const answer = await conn.response(0);
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'HOOKRELAY_ERR_BODY_TOO_LARGE', route: 'r' });
    expectClose(answer.headers);
    // A caller trusting a keep-alive answer would send its next request here.
    await conn.write(second);
    const ending = await within(conn.ended, 8_000, { how: 'still open' as const });
    expect(ending.how).toBe('end');
    expect(conn.responses).toHaveLength(1);
    expect(target!.received).toHaveLength(0);
  });

  it('a request pipelined behind an oversized body is not processed', async () => {
    const { port } = await setup();
    const conn = rawConnect(port);
    await conn.connected;
    await conn.write(`${head('/in', 2048)}${'a'.repeat(2048)}${second}`);
    const answer = await conn.response(0);
    expect(answer.status).toBe(413);
    expectClose(answer.headers);
    expect((await within(conn.ended, 8_000, { how: 'still open' as const })).how).toBe('end');
    expect(conn.responses).toHaveLength(1);
    expect(target!.received).toHaveLength(0);
  });

  it('bytes that are not HTTP after an early answer are drained, not parsed: no 400, no reset', async () => {
    const { port, relay } = await setup();
    const conn = rawConnect(port);
    await conn.connected;
    await conn.write(head('/in', 1_000_000));
    expect((await conn.response(0)).status).toBe(413);
    for (let i = 0; i < 20; i++) await conn.write('\x00\x01 not http at all \r\n\r\n');
    conn.socket.end();
    expect((await within(conn.ended, 8_000, { how: 'still open' as const })).how).toBe('end');
    expect(conn.responses).toHaveLength(1);
    const text = await (await fetch(`${relay.url}/metrics`)).text();
    expect(sample(text, 'hookrelay_http_client_errors_total', { reason: 'malformed' })).toBe(0);
  });

  it('503 overload with the body unread: Connection: close and an orderly close', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const { port, relay, target } = await setup('', async (_req, res) => {
      await held;
      res.end('ok');
    });
    const first = fetch(`${relay.url}/in`, { method: 'POST', body: '{}' });
    for (let i = 0; i < 250 && target.received.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    const conn = rawConnect(port);
    await conn.connected;
    await conn.write(head('/in', 100));
    const answer = await conn.response(0);
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('1');
    expectClose(answer.headers);
    await conn.write(second);
    expect((await within(conn.ended, 8_000, { how: 'still open' as const })).how).toBe('end');
    expect(conn.responses).toHaveLength(1);
    release();
    expect((await first).status).toBe(200);
    expect(target.received).toHaveLength(1);
  });

  it('405 and 404 with a body still to come close the connection; answers after a read body keep it', async () => {
    const { port } = await setup();
    const put = rawConnect(port);
    await put.connected;
    await put.write('PUT /in HTTP/1.1\r\nHost: relay\r\nContent-Length: 500\r\n\r\n');
    const notAllowed = await put.response(0);
    expect(notAllowed.status).toBe(405);
    expectClose(notAllowed.headers);
    expect((await within(put.ended, 8_000, { how: 'still open' as const })).how).toBe('end');

    const unknown = rawConnect(port);
    await unknown.connected;
    await unknown.write(head('/nowhere', 500));
    const notFound = await unknown.response(0);
    expect(notFound.status).toBe(404);
    expectClose(notFound.headers);
    expect((await within(unknown.ended, 8_000, { how: 'still open' as const })).how).toBe('end');

    // A body that was read (or none at all): the connection is kept for the next request.
    const kept = rawConnect(port);
    await kept.connected;
    await kept.write(`${head('/in', 2)}{}GET /nowhere HTTP/1.1\r\nHost: relay\r\n\r\n`);
    const ok = await kept.response(0);
    expect(ok.status).toBe(200);
    expect(ok.headers.connection).toBe('keep-alive');
    const missing = await kept.response(1);
    expect(missing.status).toBe(404);
    expect(missing.headers.connection).toBe('keep-alive');
    kept.destroy();
  });

  it('stream routes: a verify refusal, a declared body over the limit and an unreachable target close the connection', async () => {
    const { port, target } = await setup();
    const cases: [string, number, string][] = [
      [head('/files/a', 100), 401, 'HOOKRELAY_ERR_UNAUTHORIZED'],
      [head('/files/a', 5000, 'X-Api-Key: k-0123456789\r\n'), 413, 'HOOKRELAY_ERR_BODY_TOO_LARGE'],
      [head('/down', 100), 502, 'HOOKRELAY_ERR_UPSTREAM_UNREACHABLE'],
    ];
    for (const [request, status, code] of cases) {
      const conn = rawConnect(port);
      await conn.connected;
      await conn.write(request);
      const answer = await conn.response(0);
      expect(answer.status).toBe(status);
      expect(JSON.parse(answer.body)).toMatchObject({ error: code });
      expectClose(answer.headers);
      await conn.write(second);
      expect((await within(conn.ended, 8_000, { how: 'still open' as const })).how).toBe('end');
      expect(conn.responses).toHaveLength(1);
    }
    expect(target.received).toHaveLength(0);
  });

  it('an upload still arriving after the early answer is drained, so the caller reads the answer', async () => {
    const { port } = await setup();
    const conn = rawConnect(port);
    await conn.connected;
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    await conn.write(head('/in', chunk.length * 64));
    // 4 MB sent without reading, as a legacy sender that does not watch for an answer would.
    for (let i = 0; i < 64; i++) await conn.write(chunk);
    conn.socket.end();
    expect((await within(conn.ended, 8_000, { how: 'still open' as const })).how).toBe('end');
    expect(conn.responses[0]?.status).toBe(413);
    expectClose(conn.responses[0]!.headers);
  });
});

describe('answers once a graceful shutdown began', () => {
  it('the answer of a request in flight says Connection: close; a request sent after it is not processed', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const { port, relay, target } = await setup('', async (_req, res) => {
      await held;
      res.end('{"ok":true}');
    });
    const conn = rawConnect(port);
    await conn.connected;
    await conn.write(`${head('/in', 2)}{}`);
    for (let i = 0; i < 250 && target.received.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    const stopped = relay.app.stop(10_000);
    release();
    const answer = await conn.response(0);
    expect(answer.status).toBe(200);
    expectClose(answer.headers);
    await conn.write(second);
    expect((await within(conn.ended, 8_000, { how: 'still open' as const })).how).toBe('end');
    expect(conn.responses).toHaveLength(1);
    expect(await stopped).toEqual({ drained: true });
    expect(target.received).toHaveLength(1);
  });

  it('requests pipelined before the shutdown are all answered, in order; the last answer closes', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const { port, relay, target } = await setup(
      '',
      async (_req, res) => {
        await held;
        res.end('{"ok":true}');
      },
      10,
    );
    const conn = rawConnect(port);
    await conn.connected;
    await conn.write(`${head('/in', 2)}{}${head('/in', 2)}{}`);
    for (let i = 0; i < 250 && target.received.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(target.received).toHaveLength(2);
    const stopped = relay.app.stop(10_000);
    release();
    const first = await conn.response(0);
    const last = await conn.response(1);
    expect([first.status, last.status]).toEqual([200, 200]);
    expect(first.headers.connection).toBe('keep-alive');
    expectClose(last.headers);
    expect((await within(conn.ended, 8_000, { how: 'still open' as const })).how).toBe('end');
    expect(await stopped).toEqual({ drained: true });
  });

  it('health, readiness, metrics and 404 answered during shutdown say Connection: close', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const { port, relay, target } = await setup('', async (_req, res) => {
      await held;
      res.end('ok');
    });
    // Connections with a request half sent survive the listener closing.
    const paths = ['/healthz', '/readyz', '/metrics', '/nowhere'];
    const conns = paths.map(() => rawConnect(port));
    for (const [i, conn] of conns.entries()) {
      await conn.connected;
      await conn.write(`GET ${paths[i]} HTTP/1.1\r\nHost: relay\r\n`);
    }
    const inFlight = fetch(`${relay.url}/in`, { method: 'POST', body: '{}' });
    for (let i = 0; i < 250 && target.received.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    const stopped = relay.app.stop(10_000);
    const statuses: number[] = [];
    for (const conn of conns) {
      await conn.write('\r\n');
      const answer = await conn.response(0);
      statuses.push(answer.status);
      expectClose(answer.headers);
      expect((await within(conn.ended, 8_000, { how: 'still open' as const })).how).toBe('end');
    }
    expect(statuses).toEqual([200, 503, 200, 404]);
    release();
    expect((await inFlight).status).toBe(200);
    expect(await stopped).toEqual({ drained: true });
  });

  it('503 SHUTTING_DOWN with an upload still arriving: the caller reads the answer, not a reset', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const { port, relay, target } = await setup('', async (_req, res) => {
      await held;
      res.end('ok');
    });
    const conn = rawConnect(port);
    await conn.connected;
    await conn.write('POST /in HTTP/1.1\r\nHost: relay\r\nContent-Length: 1000\r\n');
    const inFlight = fetch(`${relay.url}/in`, { method: 'POST', body: '{}' });
    for (let i = 0; i < 250 && target.received.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    const stopped = relay.app.stop(10_000);
    await conn.write('\r\n');
    const answer = await conn.response(0);
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'HOOKRELAY_ERR_SHUTTING_DOWN', route: 'r' });
    expectClose(answer.headers);
    for (let i = 0; i < 10; i++) await conn.write('a'.repeat(100));
    expect((await within(conn.ended, 8_000, { how: 'still open' as const })).how).toBe('end');
    release();
    expect((await inFlight).status).toBe(200);
    expect(await stopped).toEqual({ drained: true });
  });
});
