import { connect, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startTarget, type Target } from '../helpers.ts';
import { childProcesses } from '../support/child.ts';
import { type RawConnection, type RawResponse, rawConnect } from '../support/raw-http.ts';

/**
 * `hookrelay start` as a real child process: it listens, relays, and shuts down gracefully on
 * SIGTERM/SIGINT without losing the request in flight.
 */

const children = childProcesses();
afterAll(() => children.removeDir());

const targets: Target[] = [];
afterEach(async () => {
  children.cleanup();
  for (const target of targets.splice(0)) await target.close();
});

const writeConfig = children.writeConfig;

/** Spawns `node src/main.ts <args>` and waits for the `hookrelay listening` line to learn the port. */
const startChild = (args: string[], env: Record<string, string> = {}) => children.start(args, { env });

/** A downstream that signals when a request arrives and answers 200 only after `holdMs`. */
async function slowTarget(holdMs: number) {
  let arrived!: () => void;
  const arrival = new Promise<void>((done) => {
    arrived = done;
  });
  const target = await startTarget(async (_req, res) => {
    arrived();
    await sleep(holdMs);
    if (res.destroyed) return;
    res.setHeader('content-type', 'application/json');
    res.end('{"delivered":true}');
  });
  targets.push(target);
  return { target, arrival };
}

const relayConfig = (targetUrl: string, extra = '') =>
  writeConfig(`
server:
  host: 127.0.0.1
  port: 0
  shutdownGrace: 10s
${extra}
routes:
  - id: orders
    path: /in/orders
    forward:
      url: ${targetUrl}/hook
`);

/** Resolves true once a new TCP connection to `port` is refused (polling briefly), false on timeout. */
async function refusedWithin(port: number, timeout: number): Promise<boolean> {
  const until = performance.now() + timeout;
  while (performance.now() < until) {
    const refused = await new Promise<boolean>((done) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        done(false);
      });
      socket.once('error', (error: NodeJS.ErrnoException) => done(error.code === 'ECONNREFUSED'));
    });
    if (refused) return true;
    await sleep(10);
  }
  return false;
}

const post = (url: string, body = '{"order":1}') =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

describe('hookrelay start', () => {
  it('listens on the configured port and logs where, then relays', async () => {
    const target = await startTarget();
    targets.push(target);
    const child = await startChild(['start', '-c', relayConfig(target.url)]);
    const listening = child.logs.find((log) => log.msg === 'hookrelay listening')!;
    expect(listening).toMatchObject({
      level: 'info',
      host: '127.0.0.1',
      routes: ['orders'],
      version: expect.any(String),
    });
    expect(child.port).toBeGreaterThan(0);

    const res = await post(`${child.url}/in/orders`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    const line = await child.waitForLog((log) => log.msg === 'request');
    expect(line).toMatchObject({
      route: 'orders',
      method: 'POST',
      status: 200,
      attempts: 1,
      result: 'delivered',
    });
    expect(line.requestId).toBe(res.headers.get('x-request-id'));
    expect(typeof line.durationMs).toBe('number');

    expect((await fetch(`${child.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${child.url}/readyz`)).status).toBe(200);

    child.process.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);
  });

  it('reads the config path from HOOKRELAY_CONFIG', async () => {
    const target = await startTarget();
    targets.push(target);
    const file = relayConfig(target.url);
    const child = await startChild(['start'], { HOOKRELAY_CONFIG: file });
    expect(child.logs[0]).toMatchObject({ msg: 'hookrelay listening', config: file });
    child.process.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);
  });

  it('runs the example config out of the box (npm start): the demo route injects a bearer token', async () => {
    const port = await freePort();
    const child = await startChild(['start'], { PORT: String(port) });
    const listening = child.logs.find((l) => l.msg === 'hookrelay listening');
    expect(listening).toMatchObject({ config: 'config/hookrelay.yaml', port });
    // The demo token is a literal `${DEMO_TARGET_TOKEN:-…}` default: warned about, never printed.
    expect(child.logs[0]).toMatchObject({ level: 'warn', msg: 'configuration warning' });
    expect(JSON.stringify(child.logs)).not.toContain('demo-token-not-secret');
    const res = await fetch(`http://127.0.0.1:${port}/in/acme/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"id":42}',
    });
    expect(res.status).toBe(200);
    const echo = (await res.json()) as { headers: Record<string, string>; body: string; params: object };
    expect(echo.headers.authorization).toBe('Bearer <redacted, 21 chars>');
    expect(echo.body).toBe('{"id":42}');
    expect(echo.params).toEqual({ tenant: 'acme' });
    child.process.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);
  });
});

describe('graceful shutdown', () => {
  it('SIGTERM mid-request: the caller still gets 200, nothing is lost, new connections are refused, exit 0', async () => {
    const { target, arrival } = await slowTarget(700);
    const child = await startChild(['start', '-c', relayConfig(target.url)]);
    const inFlight = post(`${child.url}/in/orders`, '{"order":"in-flight"}');
    let answered = false;
    void inFlight.then(() => {
      answered = true;
    });
    await arrival;

    const signalled = performance.now();
    child.process.kill('SIGTERM');
    await child.waitForLog((log) => log.msg === 'shutting down');
    expect(await refusedWithin(child.port, 2_000)).toBe(true);
    // The refusal was observed while the webhook was still held by the downstream.
    expect(answered).toBe(false);

    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ delivered: true });
    expect(target.received).toHaveLength(1);
    expect(target.received[0]!.body.toString()).toBe('{"order":"in-flight"}');

    const exit = await child.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    // Well within the 10 s grace period (generous bound: the downstream held the request for 0.7 s).
    expect(exit.at - signalled).toBeLessThan(8_000);
    expect(child.logs).toContainEqual(
      expect.objectContaining({ msg: 'shutting down', signal: 'SIGTERM', grace: 10_000 }),
    );
    expect(child.logs).toContainEqual(expect.objectContaining({ msg: 'stopped', drained: true }));
    expect(child.logs).toContainEqual(
      expect.objectContaining({ msg: 'request', status: 200, route: 'orders' }),
    );
    expect(child.stderr()).toBe('');
    expect(target.received).toHaveLength(1);
  });

  it('during shutdown, /readyz answers 503 and requests on open connections get 503 SHUTTING_DOWN', async () => {
    const { target, arrival } = await slowTarget(700);
    const child = await startChild(['start', '-c', relayConfig(target.url)]);
    // Connections opened before SIGTERM with a request half sent are not idle, so they survive the
    // listener closing; their requests complete after SIGTERM, while the webhook is still in flight.
    const readyz = halfSentRequest(child.port, 'GET /readyz HTTP/1.1\r\nHost: relay\r\n');
    const late = halfSentRequest(
      child.port,
      'POST /in/orders HTTP/1.1\r\nHost: relay\r\nContent-Length: 2\r\n',
    );
    await Promise.all([readyz.connected, late.connected]);
    const inFlight = post(`${child.url}/in/orders`);
    await arrival;
    child.process.kill('SIGTERM');
    await child.waitForLog((log) => log.msg === 'shutting down');
    readyz.finish('\r\n');
    late.finish('\r\n{}');

    const [ready, rejected] = await Promise.all([readyz.response, late.response]);
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toEqual({ status: 'shutting down' });
    expect(rejected.status).toBe(503);
    expect(rejected.headers).toMatch(/\r\nconnection: close/i);
    expect(JSON.parse(rejected.body)).toMatchObject({
      error: 'HOOKRELAY_ERR_SHUTTING_DOWN',
      route: 'orders',
    });
    expect((await inFlight).status).toBe(200);
    expect(target.received).toHaveLength(1);
    expect((await child.exited).code).toBe(0);
  });

  it('SIGINT shuts down the same way', async () => {
    const { target, arrival } = await slowTarget(300);
    const child = await startChild(['start', '-c', relayConfig(target.url)]);
    const inFlight = post(`${child.url}/in/orders`);
    await arrival;
    child.process.kill('SIGINT');
    expect((await inFlight).status).toBe(200);
    expect((await child.exited).code).toBe(0);
    expect(child.logs).toContainEqual(expect.objectContaining({ msg: 'shutting down', signal: 'SIGINT' }));
  });

  it('an idle relay exits 0 at once', async () => {
    const target = await startTarget();
    targets.push(target);
    const child = await startChild(['-c', relayConfig(target.url), 'start']);
    child.process.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);
    expect(child.logs).toContainEqual(expect.objectContaining({ msg: 'stopped', drained: true }));
  });

  it('a second signal exits 1 at once, without waiting for the grace period', async () => {
    const { target, arrival } = await slowTarget(60_000);
    const child = await startChild(['start', '-c', relayConfig(target.url, '')]);
    const inFlight = post(`${child.url}/in/orders`).then(
      (res) => res.status,
      () => 'connection lost',
    );
    await arrival;
    child.process.kill('SIGTERM');
    await child.waitForLog((log) => log.msg === 'shutting down');
    const second = performance.now();
    child.process.kill('SIGINT');
    const exit = await child.exited;
    expect(exit.code).toBe(1);
    expect(exit.at - second).toBeLessThan(5_000); // the grace period is 10 s
    expect(child.logs).toContainEqual(
      expect.objectContaining({ msg: 'second signal: exiting now', signal: 'SIGINT' }),
    );
    expect(await inFlight).toBe('connection lost');
  });

  it('when the grace period runs out, in-flight requests are cut and the exit code is 1', async () => {
    const { target, arrival } = await slowTarget(60_000);
    const file = writeConfig(`
server: { host: 127.0.0.1, port: 0, shutdownGrace: 300ms }
routes:
  - id: orders
    path: /in/orders
    forward: { url: "${target.url}/hook" }
`);
    const child = await startChild(['start', '-c', file]);
    const inFlight = post(`${child.url}/in/orders`).then(
      (res) => res.status,
      () => 'connection lost',
    );
    await arrival;
    const signalled = performance.now();
    child.process.kill('SIGTERM');
    const exit = await child.exited;
    expect(exit.code).toBe(1);
    expect(exit.at - signalled).toBeLessThan(10_000);
    expect(child.logs).toContainEqual(expect.objectContaining({ msg: 'stopped', drained: false }));
    expect(await inFlight).toBe('connection lost');
  });
});

describe('graceful shutdown with keep-alive callers', () => {
  /**
   * One keep-alive caller: sends a request, reads the answer, reuses the connection unless the
   * answer said `Connection: close` (then it opens a new one, which is refused once the listener
   * closed). A request written on a kept-alive connection that then ends without its answer is a
   * reset: the caller cannot know whether it was processed. A new connection reset before its
   * first answer was never accepted (the kernel resets its accept queue when the listener
   * closes): refused, like a connection that cannot be opened.
   */
  async function caller(port: number, outcomes: Outcomes, max: number): Promise<void> {
    const caller = Symbol('caller');
    let conn: RawConnection | undefined;
    for (let sent = 0; sent < max; sent++) {
      if (!conn) {
        conn = rawConnect(port);
        try {
          await conn.connected;
        } catch {
          outcomes.refused++;
          return;
        }
      }
      const index = conn.responses.length;
      await conn.write(
        'POST /in/orders HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"order":1}',
      );
      let answer: RawResponse;
      try {
        answer = await conn.response(index);
      } catch {
        if (index === 0) outcomes.refused++;
        else outcomes.reset++;
        conn.destroy();
        return;
      }
      outcomes.answered.add(caller);
      outcomes.statuses[answer.status] = (outcomes.statuses[answer.status] ?? 0) + 1;
      if (answer.status === 503) outcomes.codes.add((JSON.parse(answer.body) as { error: string }).error);
      if (answer.headers.connection === 'close') {
        outcomes.closing++;
        if (answer.headers['keep-alive'] !== undefined) outcomes.keepAliveOnClose++;
        conn.destroy();
        conn = undefined;
      }
    }
    conn?.destroy();
  }

  interface Outcomes {
    answered: Set<symbol>;
    statuses: Record<number, number>;
    codes: Set<string>;
    closing: number;
    keepAliveOnClose: number;
    reset: number;
    refused: number;
  }

  it('SIGTERM under 100 keep-alive callers: every answer after it says close, nobody is reset', async () => {
    const target = await startTarget(async (_req, res) => {
      await sleep(Math.floor(Math.random() * 20));
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
    targets.push(target);
    const child = await startChild(['start', '-c', relayConfig(target.url)]);
    const outcomes: Outcomes = {
      answered: new Set(),
      statuses: {},
      codes: new Set(),
      closing: 0,
      keepAliveOnClose: 0,
      reset: 0,
      refused: 0,
    };
    const callers = Array.from({ length: 100 }, () => caller(child.port, outcomes, 400));
    // Every caller has its connection accepted and in use before the signal.
    for (let i = 0; i < 1_000 && outcomes.answered.size < 100; i++) await sleep(10);
    child.process.kill('SIGTERM');
    await Promise.all(callers);
    expect((await child.exited).code).toBe(0);
    expect(outcomes.reset).toBe(0);
    expect(outcomes.keepAliveOnClose).toBe(0);
    // Each caller learnt of the shutdown from an answer, then found the listener closed.
    expect(outcomes.closing).toBeGreaterThanOrEqual(100);
    expect(outcomes.refused).toBe(100);
    // Nothing was delivered without its caller getting the answer.
    expect(outcomes.statuses[200]).toBe(target.received.length);
    expect(Object.keys(outcomes.statuses).sort()).toEqual(outcomes.statuses[503] ? ['200', '503'] : ['200']);
    if (outcomes.statuses[503]) expect([...outcomes.codes]).toEqual(['HOOKRELAY_ERR_SHUTTING_DOWN']);
  }, 40_000);
});

/** A raw connection with the start of a request written; `finish` sends the rest. */
function halfSentRequest(port: number, head: string) {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => {
    received += chunk;
  });
  const connected = new Promise<void>((done, fail) => {
    socket.once('error', fail);
    socket.once('connect', () => {
      socket.write(head, () => done());
    });
  });
  const response = new Promise<{ status: number; headers: string; body: string }>((done, fail) => {
    socket.once('close', () => {
      const [first] = splitResponses(received);
      if (first) done(first);
      else fail(new Error(`no response before the connection closed: ${JSON.stringify(received)}`));
    });
  });
  return { connected, response, finish: (rest: string) => socket.end(rest) };
}

/** Parses a stream of HTTP/1.1 responses with Content-Length bodies. */
function splitResponses(text: string): { status: number; headers: string; body: string }[] {
  const out: { status: number; headers: string; body: string }[] = [];
  let rest = text;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) break;
    const head = rest.slice(0, end);
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
    const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
    out.push({ status, headers: head, body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
  return out;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}
