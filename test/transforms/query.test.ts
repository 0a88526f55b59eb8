import { afterEach, describe, expect, it } from 'vitest';
import { HookrelayError } from '../../src/core/errors.ts';
import type { InboundMessage } from '../../src/core/message.ts';
import { transformSchema } from '../../src/transforms/index.ts';
import {
  type CompiledStep,
  runTransforms,
  StepError,
  type TransformResult,
} from '../../src/transforms/run.ts';
import { type Relay, startRelay, startTarget, type Target } from '../helpers.ts';
import { compile } from './support.ts';

interface Call {
  query?: string;
  params?: Record<string, string>;
  body?: string;
  contentType?: string;
}

function message({ query = '', params = {}, body = '' }: Call): InboundMessage {
  return {
    requestId: 'rid',
    routeId: 'r',
    method: 'GET',
    path: '/in',
    params,
    query: new URLSearchParams(query),
    rawQuery: query,
    headers: {},
    body: Buffer.from(body),
    clientIp: '127.0.0.1',
    receivedAt: 0,
  };
}

function transform(steps: CompiledStep[], call: Call): Promise<TransformResult> {
  const msg = message(call);
  const contentType = call.contentType ?? (call.body ? 'application/json' : undefined);
  return runTransforms(steps, msg, { kind: 'bytes', bytes: msg.body, contentType });
}

async function run(options: Record<string, unknown>, call: Call): Promise<unknown> {
  const result = await transform(compile({ type: 'query', ...options }), call);
  expect(result.contentType).toBe('application/json');
  return JSON.parse(result.body.toString('utf8'));
}

async function failure(options: Record<string, unknown>, call: Call): Promise<HookrelayError> {
  const error = await run(options, call).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StepError);
  expect((error as StepError).error).toBeInstanceOf(HookrelayError);
  return (error as StepError).error;
}

describe('query: merging', () => {
  const cases: [string, Record<string, unknown>, Call, unknown][] = [
    [
      'an empty body becomes the query fields',
      {},
      { query: 'id=42&status=paid' },
      { id: '42', status: 'paid' },
    ],
    ['a repeated name becomes an array', {}, { query: 'tag=a&id=1&tag=b' }, { tag: ['a', 'b'], id: '1' }],
    [
      'values are percent-decoded, `+` is a space, never converted',
      {},
      { query: 'name=Zo%C3%AB+M&zip=01234' },
      { name: 'Zoë M', zip: '01234' },
    ],
    ['no query and no body give an empty object', {}, {}, {}],
    [
      'path parameters are merged by default',
      {},
      { query: 'id=1', params: { tenant: 'acme' } },
      { id: '1', tenant: 'acme' },
    ],
    [
      'params: false leaves them out',
      { params: false },
      { query: 'id=1', params: { tenant: 'acme' } },
      { id: '1' },
    ],
    [
      'a path parameter wins over a query parameter of the same name',
      {},
      { query: 'tenant=evil&id=1', params: { tenant: 'acme' } },
      { tenant: 'acme', id: '1' },
    ],
    [
      'a JSON object body gets the fields added',
      {},
      { query: 'b=2', body: '{"a":1,"n":{"x":true}}' },
      { a: 1, n: { x: true }, b: '2' },
    ],
    [
      'the body field wins over a query field of the same name by default',
      {},
      { query: 'id=q&extra=1', body: '{"id":"body"}' },
      { id: 'body', extra: '1' },
    ],
    [
      'overwrite: the query field wins',
      { overwrite: true },
      { query: 'id=q&extra=1', body: '{"id":"body"}' },
      { id: 'q', extra: '1' },
    ],
    [
      'overwrite also applies to path parameters',
      { overwrite: true },
      { params: { tenant: 'acme' }, body: '{"tenant":"x"}' },
      { tenant: 'acme' },
    ],
    [
      'into nests the fields under a path, created as needed',
      { into: 'meta.query' },
      { query: 'id=1', body: '{"a":1}' },
      { a: 1, meta: { query: { id: '1' } } },
    ],
    [
      'into an empty body',
      { into: 'request' },
      { query: 'id=1', params: { t: 'x' } },
      { request: { id: '1', t: 'x' } },
    ],
    [
      'into merges with an object already there, body wins',
      { into: 'meta' },
      { query: 'id=q&b=2', body: '{"meta":{"id":"body","a":1},"z":0}' },
      { meta: { id: 'body', a: 1, b: '2' }, z: 0 },
    ],
    [
      'into with overwrite',
      { into: 'meta', overwrite: true },
      { query: 'id=q', body: '{"meta":{"id":"body"}}' },
      { meta: { id: 'q' } },
    ],
    [
      'into replaces a null',
      { into: 'meta' },
      { query: 'id=1', body: '{"meta":null}' },
      { meta: { id: '1' } },
    ],
    [
      'a JSON content type with parameters is read',
      {},
      { query: 'b=2', body: '{"a":1}', contentType: 'application/vnd.x+json; charset=utf-8' },
      { a: 1, b: '2' },
    ],
  ];
  it.each(cases)('%s', async (_name, options, call, expected) => {
    expect(await run(options, call)).toEqual(expected);
  });

  it('a `__proto__` query name is plain data', async () => {
    const value = (await run({}, { query: '__proto__=x&a=1' })) as Record<string, unknown>;
    expect(Object.getOwnPropertyNames(value)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
  });

  it('does not change the query of the message', async () => {
    const steps = compile({ type: 'query' });
    const msg = message({ query: 'a=1' });
    await runTransforms(steps, msg, { kind: 'bytes', bytes: Buffer.alloc(0), contentType: undefined });
    expect(msg.query.toString()).toBe('a=1');
  });
});

describe('query: method', () => {
  it.each([
    [{ method: 'POST' }, 'POST'],
    [{ method: 'put' }, 'PUT'],
    [{}, undefined],
  ])('%j forwards with %s', async (options, method) => {
    const result = await transform(compile({ type: 'query', ...options }), { query: 'a=1' });
    expect(result.method).toBe(method);
  });

  it('rejects an unknown method, a bad `into` and unknown options at load', () => {
    for (const [options, path] of [
      [{ method: 'FETCH' }, 'method'],
      [{ into: '' }, 'into'],
      [{ into: 'a..b' }, 'into'],
      [{ into: '.a' }, 'into'],
      [{ params: 'yes' }, 'params'],
      [{ merge: true }, ''],
    ] as const) {
      const result = transformSchema.safeParse({ type: 'query', ...options });
      expect(result.success, JSON.stringify(options)).toBe(false);
      expect(result.error!.issues[0]!.path.join('.')).toContain(path);
    }
  });
});

describe('query: bodies it cannot merge into', () => {
  it.each([
    ['an array', {}, '[1,2]', 'the body is an array'],
    ['a string', {}, '"x"', 'the body is a string'],
    ['a number', {}, '42', 'the body is a number'],
    ['null', {}, 'null', 'the body is null'],
    ['an array, even with into', { into: 'q' }, '[1]', 'the body is an array'],
    ['a non-object at the into path', { into: 'meta.q' }, '{"meta":[1]}', "'meta' in the body is an array"],
    ['a string at the into path', { into: 'meta' }, '{"meta":"x"}', "'meta' in the body is a string"],
  ])('%s fails with 422', async (_name, options, body, reason) => {
    const error = await failure(options, { query: 'a=1', body });
    expect(error.status).toBe(422);
    expect(error.code).toBe('HOOKRELAY_ERR_TRANSFORM_FAILED');
    expect(error.message).toBe(
      `transform[0] (query): ${reason}, not ${reason.startsWith("'") ? 'an object' : 'a JSON object'} the query fields can be merged into`,
    );
  });

  it('a non-JSON body is 415, malformed JSON is 400', async () => {
    const xml = await failure({}, { body: '<a/>', contentType: 'text/xml' });
    expect(xml.status).toBe(415);
    const broken = await failure({}, { body: '{"a":', contentType: 'application/json' });
    expect(broken.status).toBe(400);
    expect(broken.code).toBe('HOOKRELAY_ERR_MALFORMED_BODY');
  });

  it('after a `form` step the form fields are the body', async () => {
    const steps = compile({ type: 'form' }, { type: 'query', overwrite: true });
    const result = await transform(steps, {
      query: 'source=gw&id=q',
      body: 'id=1&amount=9.99',
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(JSON.parse(result.body.toString())).toEqual({ id: 'q', amount: '9.99', source: 'gw' });
  });
});

describe('query: end to end', () => {
  let target: Target;
  let relay: Relay;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
  });

  it('a GET callback with ?id=42&status=paid reaches the target as a POST with a JSON body', async () => {
    target = await startTarget();
    relay = await startRelay(`
routes:
  - id: legacy-callback
    path: /in/callback
    methods: [GET]
    forward:
      url: ${target.url}/hooks/payment
      passQuery: false
    transform:
      - type: query
        method: POST
`);
    const res = await fetch(`${relay.url}/in/callback?id=42&status=paid`);
    expect(res.status).toBe(200);
    expect(target.received).toHaveLength(1);
    const got = target.received[0]!;
    expect(got.method).toBe('POST');
    expect(got.url).toBe('/hooks/payment');
    expect(got.headers['content-type']).toBe('application/json');
    expect(JSON.parse(got.body.toString('utf8'))).toEqual({ id: '42', status: 'paid' });
  });

  it('path parameters and the query go under `into`; passQuery (the default) still appends the query', async () => {
    target = await startTarget();
    relay = await startRelay(`
routes:
  - id: panel
    path: /in/:site/alarm
    methods: [GET, POST]
    forward:
      url: ${target.url}/alarms
    transform:
      - type: query
        into: source
`);
    const res = await fetch(`${relay.url}/in/north/alarm?zone=3&zone=4`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"level":"high"}',
    });
    expect(res.status).toBe(200);
    const got = target.received[0]!;
    expect(got.url).toBe('/alarms?zone=3&zone=4');
    expect(JSON.parse(got.body.toString('utf8'))).toEqual({
      level: 'high',
      source: { zone: ['3', '4'], site: 'north' },
    });
  });
});
