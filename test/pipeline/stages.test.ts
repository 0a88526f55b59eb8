/**
 * The shared stages of the lifecycle (src/pipeline/stages.ts), each alone on a real request: what
 * it returns for a good and a bad input, and which metric it moves. Then the lifecycle
 * (src/pipeline/lifecycle.ts) with every stage able to refuse the same call: the first refusal in
 * the order docs/lifecycle.md draws is the answer, and nothing reaches the target.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Call } from '../../src/pipeline/call.ts';
import { inboundMessage } from '../../src/pipeline/call.ts';
import type { BufferedRoute } from '../../src/pipeline/route.ts';
import { admit, body, declaredLength, prepare, type StageResult, verify } from '../../src/pipeline/stages.ts';
import { sample, startTarget, type Target } from '../helpers.ts';
import { type Seam, startSeam, yaml } from '../modes/support.ts';
import { rawConnect } from '../support/raw-http.ts';

const SECRET = 'stage-secret';
const sign = (text: string) => `sha256=${createHmac('sha256', SECRET).update(text).digest('hex')}`;

const CONFIG = (target: string) =>
  yaml(
    'routes:',
    '  - id: plain',
    '    path: /plain',
    `    forward: { url: "${target}/hook" }`,
    '    limits: { body: 64b }',
    '  - id: signed',
    '    path: /signed',
    `    forward: { url: "${target}/hook" }`,
    '    limits: { body: 64b }',
    '    verify:',
    '      - type: hmac',
    '        header: X-Signature',
    '        prefix: "sha256="',
    `        secrets: [${SECRET}]`,
    '    transform:',
    '      - type: map',
    '        fields: { id: order.id }',
    '  - id: ips',
    '    path: /ips',
    `    forward: { url: "${target}/hook" }`,
    '    verify:',
    '      - { type: ipAllow, cidrs: [192.0.2.0/24] }',
    '  - id: files',
    '    path: /files',
    '    methods: [PUT]',
    '    delivery: stream',
    `    forward: { url: "${target}/files" }`,
    '    limits: { body: 64b }',
    '    verify:',
    '      - type: basic',
    '        users: [{ username: u, password: right-password }]',
  );

type Stage = (call: Call) => Promise<StageResult<unknown>> | StageResult<unknown>;

/**
 * A server that routes like the lifecycle, runs one stage on the real request and answers 204;
 * `run` resolves with the stage's result for the next call.
 */
interface StageServer {
  url: string;
  run(stage: Stage, send: (url: string) => Promise<unknown>): Promise<StageResult<unknown>>;
  close(): Promise<void>;
}

async function stageServer(seam: Seam): Promise<StageServer> {
  let pending: { stage: Stage; resolve: (result: StageResult<unknown>) => void } | undefined;
  const server: Server = createServer((req, res) => {
    const [path = '/', rawQuery = ''] = (req.url ?? '/').split('?');
    const match = seam.ctx.routing.current.match(req.method ?? 'GET', path);
    if (match.kind !== 'found' || !pending) {
      res.statusCode = 500;
      res.end();
      return;
    }
    const call: Call = {
      ctx: seam.ctx,
      req,
      res,
      route: match.route,
      method: req.method ?? 'GET',
      path,
      params: match.params,
      rawQuery,
      requestId: 'stage-test',
      started: performance.now(),
      clientIp: '127.0.0.1',
    };
    const { stage, resolve } = pending;
    pending = undefined;
    Promise.resolve(stage(call)).then((result) => {
      resolve(result);
      res.statusCode = 204;
      res.end();
      req.resume();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    run: (stage, send) =>
      new Promise((resolve, reject) => {
        pending = { stage, resolve };
        send(url).catch(reject);
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const post =
  (path: string, text: string, headers: Record<string, string> = {}) =>
  (url: string) =>
    fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: text,
    });

function failed(result: StageResult<unknown>) {
  if (result.kind !== 'fail') throw new Error(`expected a refusal, got ${result.kind}`);
  return { code: result.error.code, status: result.error.status, fields: result.fields };
}

let target: Target | undefined;
let seam: Seam | undefined;
let stages: StageServer | undefined;
afterEach(async () => {
  await stages?.close();
  await seam?.close();
  await target?.close();
  stages = seam = target = undefined;
});

async function setup(options: { shuttingDown?: boolean } = {}) {
  target = await startTarget();
  seam = await startSeam(CONFIG(target.url), options);
  stages = await stageServer(seam);
  return { seam, stages };
}

describe('admit', () => {
  it('lets a call in while the relay runs', async () => {
    const { stages } = await setup();
    expect(await stages.run(admit, post('/plain', '{}'))).toEqual({ kind: 'continue', value: undefined });
  });

  it('refuses a call once shutdown began: 503 SHUTTING_DOWN', async () => {
    const { stages } = await setup({ shuttingDown: true });
    expect(failed(await stages.run(admit, post('/plain', '{}')))).toMatchObject({
      code: 'HOOKRELAY_ERR_SHUTTING_DOWN',
      status: 503,
    });
  });
});

describe('body', () => {
  it('continues with the raw bytes as sent and counts them', async () => {
    const { seam, stages } = await setup();
    const result = await stages.run(body, post('/plain', '{"a": 1}'));
    expect(result.kind).toBe('continue');
    expect(String((result as { value: Buffer }).value)).toBe('{"a": 1}');
    expect(
      sample(await seam.metrics.registry.metrics(), 'hookrelay_request_body_bytes_total', { route: 'plain' }),
    ).toBe(8);
  });

  it('refuses a declared Content-Length over limits.body: 413 BODY_TOO_LARGE', async () => {
    const { stages } = await setup();
    const result = await stages.run(body, post('/plain', 'x'.repeat(65)));
    expect(failed(result)).toMatchObject({ code: 'HOOKRELAY_ERR_BODY_TOO_LARGE', status: 413 });
  });

  it('refuses a chunked body once the bytes read pass limits.body: 413', async () => {
    const { stages } = await setup();
    const chunked = (url: string) => {
      const { port } = new URL(url);
      const connection = rawConnect(Number(port));
      connection.write(
        'POST /plain HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' +
          `40\r\n${'a'.repeat(64)}\r\n1\r\nb\r\n0\r\n\r\n`,
      );
      return connection.response().finally(() => connection.destroy());
    };
    expect(failed(await stages.run(body, chunked))).toMatchObject({ code: 'HOOKRELAY_ERR_BODY_TOO_LARGE' });
  });

  it('a caller who resets the connection mid-body: 499 CLIENT_CLOSED', async () => {
    const { stages } = await setup();
    let entered!: () => void;
    const inStage = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const reading: Stage = (call) => {
      entered();
      return body(call);
    };
    const reset = async (url: string) => {
      const connection = rawConnect(Number(new URL(url).port));
      await connection.write('POST /plain HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{"a":');
      // Reset once the stage is reading: it then waits for the rest of the body.
      await inStage;
      connection.socket.resetAndDestroy();
    };
    expect(failed(await stages.run(reading, reset))).toMatchObject({
      code: 'HOOKRELAY_ERR_CLIENT_CLOSED',
      status: 499,
    });
  });
});

describe('declaredLength (stream routes)', () => {
  const put = (length: number) => (url: string) =>
    fetch(`${url}/files`, { method: 'PUT', headers: { authorization: 'Basic x' }, body: 'y'.repeat(length) });

  it('continues without reading the body when the declared length is within the limit', async () => {
    const { stages } = await setup();
    const result = await stages.run(declaredLength, put(64));
    expect(result.kind).toBe('continue');
    expect((result as { value: Buffer }).value).toHaveLength(0);
  });

  it('refuses a declared length over the limit: 413', async () => {
    const { stages } = await setup();
    expect(failed(await stages.run(declaredLength, put(65)))).toMatchObject({
      code: 'HOOKRELAY_ERR_BODY_TOO_LARGE',
      status: 413,
    });
  });
});

describe('verify', () => {
  const verifyRead: Stage = async (call) => {
    const read = await body(call);
    return read.kind === 'continue' ? verify(call, read.value) : read;
  };

  it('continues on a route without verifiers', async () => {
    const { stages } = await setup();
    expect((await stages.run(verifyRead, post('/plain', '{}'))).kind).toBe('continue');
  });

  it('continues with a good signature over the raw bytes', async () => {
    const { stages } = await setup();
    const text = '{"order":{"id":7}}';
    expect((await stages.run(verifyRead, post('/signed', text, { 'x-signature': sign(text) }))).kind).toBe(
      'continue',
    );
  });

  it('refuses a bad signature: 401 UNAUTHORIZED, a detail, the verify failure counted', async () => {
    const { seam, stages } = await setup();
    const text = '{"order":{"id":7}}';
    const result = failed(
      await stages.run(verifyRead, post('/signed', text, { 'x-signature': sign(`${text} `) })),
    );
    expect(result).toMatchObject({ code: 'HOOKRELAY_ERR_UNAUTHORIZED', status: 401 });
    expect(result.fields).toHaveProperty('detail');
    const metrics = await seam.metrics.registry.metrics();
    expect(sample(metrics, 'hookrelay_verify_failures_total', { route: 'signed', verifier: 'hmac' })).toBe(1);
  });

  it('refuses an address outside ipAllow: 403 FORBIDDEN', async () => {
    const { stages } = await setup();
    expect(failed(await stages.run(verifyRead, post('/ips', '{}')))).toMatchObject({
      code: 'HOOKRELAY_ERR_FORBIDDEN',
      status: 403,
    });
  });
});

describe('prepare (transform and outbound request)', () => {
  const prepareRead: Stage = async (call) => {
    const read = await body(call);
    if (read.kind !== 'continue') return read;
    return prepare(call as Call<BufferedRoute>, inboundMessage(call, read.value));
  };

  it("continues with the target's request: the route's URL and the transformed body", async () => {
    const { stages } = await setup();
    const text = '{"order":{"id":7}}';
    const result = await stages.run(prepareRead, post('/signed', text));
    expect(result.kind).toBe('continue');
    const { outbound } = (result as { value: { outbound: { url: URL; body?: Buffer | string } } }).value;
    expect(outbound.url.href).toBe(`${target!.url}/hook`);
    expect(JSON.parse(String(outbound.body))).toEqual({ id: 7 });
  });

  it('refuses a body the step cannot parse: 400 MALFORMED_BODY naming the step, counted', async () => {
    const { seam, stages } = await setup();
    const result = failed(await stages.run(prepareRead, post('/signed', '{"order": oops')));
    expect(result).toMatchObject({ code: 'HOOKRELAY_ERR_MALFORMED_BODY', status: 400 });
    expect(result.fields).toHaveProperty('step');
    const metrics = await seam.metrics.registry.metrics();
    expect(sample(metrics, 'hookrelay_transform_errors_total', { route: 'signed' })).toBe(1);
  });
});

describe('the lifecycle runs the stages in the documented order', () => {
  async function relayed(options: { shuttingDown?: boolean } = {}) {
    target = await startTarget();
    seam = await startSeam(CONFIG(target.url), { modes: ['sync', 'stream'], ...options });
    return seam;
  }
  const codeOf = async (res: Response) => ((await res.json()) as { error: string }).error;
  const oversize = 'x'.repeat(65);

  it('an unknown path goes to the fallback (health, metrics, the JSON 404), not a stage', async () => {
    const s = await relayed();
    const res = await fetch(`${s.url}/nowhere`, { method: 'POST', body: oversize });
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('fallback');
  });

  it('route match first: a wrong method gets 405 even during shutdown', async () => {
    const s = await relayed({ shuttingDown: true });
    const res = await fetch(`${s.url}/files`, { method: 'POST', body: oversize });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('PUT');
  });

  it('shutdown before the body: an oversize, unsigned call during shutdown gets 503', async () => {
    const s = await relayed({ shuttingDown: true });
    const res = await fetch(`${s.url}/signed`, { method: 'POST', body: oversize });
    expect(res.status).toBe(503);
    expect(await codeOf(res)).toBe('HOOKRELAY_ERR_SHUTTING_DOWN');
  });

  it('body before verify: an unauthenticated caller with an oversize body gets 413, not 401', async () => {
    const s = await relayed();
    const res = await fetch(`${s.url}/signed`, {
      method: 'POST',
      body: oversize,
      headers: { 'content-type': 'application/json', 'x-signature': 'bad' },
    });
    expect(res.status).toBe(413);
    expect(await codeOf(res)).toBe('HOOKRELAY_ERR_BODY_TOO_LARGE');
    const metrics = await s.metrics.registry.metrics();
    expect(sample(metrics, 'hookrelay_verify_failures_total', { route: 'signed' })).toBeUndefined();
  });

  it('verify before transform: a bad signature on a malformed body gets 401, not 400', async () => {
    const s = await relayed();
    const res = await fetch(`${s.url}/signed`, {
      method: 'POST',
      body: '{oops',
      headers: { 'content-type': 'application/json', 'x-signature': 'bad' },
    });
    expect(res.status).toBe(401);
    expect(await codeOf(res)).toBe('HOOKRELAY_ERR_UNAUTHORIZED');
    const metrics = await s.metrics.registry.metrics();
    expect(sample(metrics, 'hookrelay_transform_errors_total', { route: 'signed' })).toBeUndefined();
  });

  it('transform before delivery: a signed malformed body gets 400 and nothing is forwarded', async () => {
    const s = await relayed();
    const res = await fetch(`${s.url}/signed`, {
      method: 'POST',
      body: '{oops',
      headers: { 'content-type': 'application/json', 'x-signature': sign('{oops') },
    });
    expect(res.status).toBe(400);
    expect(await codeOf(res)).toBe('HOOKRELAY_ERR_MALFORMED_BODY');
    expect(target!.received).toHaveLength(0);
  });

  it('a stream route: declared length before verify, 413 for an oversize call without credentials', async () => {
    const s = await relayed();
    const res = await fetch(`${s.url}/files`, { method: 'PUT', body: oversize });
    expect(res.status).toBe(413);
    expect(target!.received).toHaveLength(0);
  });

  it('every early end has one request log line with its status and code', async () => {
    const s = await relayed();
    const res = await fetch(`${s.url}/signed`, { method: 'POST', body: oversize });
    await res.arrayBuffer();
    await s.idle();
    const lines = s.logs.filter((line) => line.msg === 'request');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ route: 'signed', status: 413, code: 'HOOKRELAY_ERR_BODY_TOO_LARGE' });
  });

  it('a route whose mode is not running fails with 500, not a hang', async () => {
    target = await startTarget();
    seam = await startSeam(CONFIG(target.url));
    const res = await fetch(`${seam.url}/plain`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(500);
    expect(await codeOf(res)).toBe('HOOKRELAY_ERR_INTERNAL');
  });
});
