import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
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
  body?: string;
  contentType?: string;
  query?: string;
  params?: Record<string, string>;
  headers?: Record<string, string>;
}

const CALL: Call = {
  body: '{"event":"order.created","id":1001,"paid":true,"items":[{"sku":"A-1"}],"order":{"ref":"R7"},"name":"Zoë"}',
  contentType: 'application/json',
  query: 'src=erp&tag=a&tag=b',
  params: { tenant: 'acme' },
  headers: { 'x-erp-system': 'SAP-PRD', 'content-type': 'application/json' },
};

function message({ body = '', query = '', params = {}, headers = {} }: Call): InboundMessage {
  return {
    requestId: 'rid-1',
    routeId: 'r',
    method: 'POST',
    path: '/in/acme/orders',
    params,
    query: new URLSearchParams(query),
    rawQuery: query,
    headers,
    body: Buffer.from(body),
    clientIp: '127.0.0.1',
    receivedAt: 0,
  };
}

function transform(steps: CompiledStep[], call: Call): Promise<TransformResult> {
  const msg = message(call);
  return runTransforms(steps, msg, { kind: 'bytes', bytes: msg.body, contentType: call.contentType });
}

const headers = (options: Record<string, unknown>, call: Call = CALL) =>
  transform(compile({ type: 'headers', ...options }), call);

async function failure(options: Record<string, unknown>, call: Call = CALL): Promise<HookrelayError> {
  const error = await headers(options, call).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StepError);
  expect((error as StepError).error).toBeInstanceOf(HookrelayError);
  return (error as StepError).error;
}

describe('headers: set', () => {
  const cases: [string, string, string][] = [
    ['a static value', 'legacy-erp', 'legacy-erp'],
    ['a body field', '{{ body.event }}', 'order.created'],
    ['a nested body field and an array element', '{{ body.order.ref }}/{{ body.items[0].sku }}', 'R7/A-1'],
    ['a number and a boolean', '{{ body.id }} {{ body.paid }}', '1001 true'],
    ['an object, as JSON', '{{ body.order }}', '{"ref":"R7"}'],
    ['a query value', '{{ query.src }}', 'erp'],
    ['a repeated query value, as JSON', '{{ query.tag }}', '["a","b"]'],
    ['a path parameter', 'tenant={{ params.tenant }}', 'tenant=acme'],
    ['an inbound header, named in any case', '{{ headers.X-ERP-System }}', 'SAP-PRD'],
    ['method, path and request id', '{{ method }} {{ path }} {{ requestId }}', 'POST /in/acme/orders rid-1'],
    ['literal text around a value', 'order-{{ body.id }}-v1', 'order-1001-v1'],
    ['Latin-1 text and a tab are allowed', '{{ body.name }}\tx', 'Zoë\tx'],
    ['whitespace at the edges is trimmed', '  {{ body.event }} ', 'order.created'],
  ];
  it.each(cases)('%s', async (_name, template, expected) => {
    const result = await headers({ set: { 'X-Value': template } });
    expect(result.setHeaders).toEqual({ 'x-value': expected });
    expect(result.removeHeaders.size).toBe(0);
  });

  it('names are lower-cased; several headers at once', async () => {
    const result = await headers({
      set: {
        'X-Event-Type': '{{ body.event }}',
        'X-Tenant': '{{ params.tenant }}',
        Accept: 'application/json',
      },
    });
    expect(result.setHeaders).toEqual({
      'x-event-type': 'order.created',
      'x-tenant': 'acme',
      accept: 'application/json',
    });
  });

  it.each([
    ['a missing body field', '{{ body.missing }}'],
    ['a missing query value', '{{ query.nope }}'],
    ['only whitespace', '{{ body.missing }}  '],
  ])('an empty value (%s) leaves the header out of the forwarded request', async (_name, template) => {
    const result = await headers({ set: { 'X-Opt': template, 'X-Other': 'x' } });
    expect(result.setHeaders).toEqual({ 'x-other': 'x' });
    expect([...result.removeHeaders]).toEqual(['x-opt']);
  });

  it('keepEmpty sends an empty value instead', async () => {
    const result = await headers({ set: { 'X-Opt': '{{ body.missing }}' }, keepEmpty: true });
    expect(result.setHeaders).toEqual({ 'x-opt': '' });
    expect(result.removeHeaders.size).toBe(0);
  });
});

describe('headers: remove and order', () => {
  it('remove lists lower-cased names', async () => {
    const result = await headers({ remove: ['X-Internal', 'cookie'] });
    expect(result.setHeaders).toEqual({});
    expect([...result.removeHeaders]).toEqual(['x-internal', 'cookie']);
  });

  it('a later step overrides an earlier one, both ways', async () => {
    const steps = compile(
      { type: 'headers', set: { 'X-B': 'b' }, remove: ['X-A'] },
      { type: 'headers', set: { 'X-A': 'a' }, remove: ['X-B'] },
    );
    const result = await transform(steps, CALL);
    expect(result.setHeaders).toEqual({ 'x-a': 'a' });
    expect([...result.removeHeaders]).toEqual(['x-b']);
  });
});

describe('headers: the body', () => {
  it('is the payload as the previous steps left it', async () => {
    const steps = compile({ type: 'form' }, { type: 'headers', set: { 'X-Status': '{{ body.status }}' } });
    const result = await transform(steps, {
      body: 'status=paid&id=1',
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(result.setHeaders).toEqual({ 'x-status': 'paid' });
    expect(JSON.parse(result.body.toString())).toEqual({ status: 'paid', id: '1' });
  });

  it('reading it does not re-serialise the forwarded JSON (big numbers and spacing survive)', async () => {
    const body = '{ "id": 12345678901234567890, "event": "x" }';
    const result = await headers(
      { set: { 'X-Event': '{{ body.event }}' } },
      { body, contentType: 'application/json' },
    );
    expect(result.setHeaders).toEqual({ 'x-event': 'x' });
    expect(result.body.toString()).toBe(body);
    expect(result.contentType).toBe('application/json');
  });

  it('is not parsed when no template reads it: any body passes through', async () => {
    const result = await headers(
      { set: { 'X-Src': '{{ query.src }}', 'X-Fixed': 'v' }, remove: ['x-a'] },
      { ...CALL, body: '<not json/>', contentType: 'text/xml' },
    );
    expect(result.setHeaders).toEqual({ 'x-src': 'erp', 'x-fixed': 'v' });
    expect(result.body.toString()).toBe('<not json/>');
    expect(result.contentType).toBe('text/xml');
  });

  it('a template over a body it cannot read is 415; over malformed JSON 400', async () => {
    const xml = await failure({ set: { 'X-E': '{{ body.e }}' } }, { body: '<e/>', contentType: 'text/xml' });
    expect(xml.status).toBe(415);
    expect(xml.message).toContain('transform[0] (headers)');
    const broken = await failure(
      { set: { 'X-E': '{{ body.e }}' } },
      { body: '{"e":', contentType: 'application/json' },
    );
    expect(broken.status).toBe(400);
  });
});

describe('headers: injection', () => {
  it.each([
    [
      'CR LF from the body',
      { body: '{"e":"x\\r\\nX-Evil: 1"}' },
      '{{ body.e }}',
      'a carriage return (U+000D)',
    ],
    ['a bare LF from the body', { body: '{"e":"x\\nX-Evil: 1"}' }, '{{ body.e }}', 'a line feed (U+000A)'],
    ['CR LF from the query', { query: 'e=x%0D%0AX-Evil:+1' }, '{{ query.e }}', 'a carriage return (U+000D)'],
    ['LF from a path parameter', { params: { t: 'a\nb' } }, '{{ params.t }}', 'a line feed (U+000A)'],
    ['NUL', { body: '{"e":"a\\u0000b"}' }, '{{ body.e }}', 'a control character (U+0000)'],
    ['DEL', { body: '{"e":"a\\u007fb"}' }, '{{ body.e }}', 'a control character (U+007F)'],
    ['a character beyond Latin-1', { body: '{"e":"5 €"}' }, '{{ body.e }}', "'€' (U+20AC)"],
    ['a line separator', { body: '{"e":"a\\u2028b"}' }, '{{ body.e }}', 'U+2028'],
    ['an object holding a newline', { body: '{"e":{"k":"\\n"}}' }, 'x{{ body.e.k }}', 'a line feed'],
  ])('%s is refused with 422', async (_name, call, template, what) => {
    const error = await failure(
      { set: { 'X-Safe': 'ok', 'X-E': template } },
      { contentType: 'application/json', ...call },
    );
    expect(error.status).toBe(422);
    expect(error.code).toBe('HOOKRELAY_ERR_TRANSFORM_FAILED');
    expect(error.message).toContain("transform[0] (headers): header 'x-e' would contain ");
    expect(error.message).toContain(what);
    expect(error.message).not.toContain('X-Evil');
  });
});

describe('headers: configuration', () => {
  it.each([
    [{ set: { 'X-E': '{{ bdy.event }}' } }, 'set.X-E', 'invalid template expression'],
    [{ set: { 'X-E': '{{ body..x }}' } }, 'set.X-E', 'invalid template expression'],
    [{ set: { 'Bad Name': 'x' } }, 'set.Bad Name', ''],
    [{ set: { 'X-E': '{{ body.event }' } }, 'set.X-E', 'unbalanced'],
    [{ set: { 'X-E': 'a }} b' } }, 'set.X-E', 'unbalanced'],
    [{ set: { 'X-E': 'a\r\nX-Evil: 1' } }, 'set.X-E', 'carriage return'],
    [{ set: { 'Content-Length': '1' } }, 'set.Content-Length', 'cannot be set'],
    [{ set: { Host: 'evil.example' } }, 'set.Host', 'cannot be set'],
    [{ set: { 'Transfer-Encoding': 'chunked' } }, 'set.Transfer-Encoding', 'cannot be set'],
    [{ set: { 'X-A': '1', 'x-a': '2' } }, 'set.x-a', "same header as 'X-A'"],
    [{ set: { 'X-A': '1' }, remove: ['x-a'] }, 'remove.0', 'also in `set`'],
    [{ remove: ['bad name'] }, 'remove.0', 'valid HTTP header name'],
    [{}, '', 'set or remove at least one header'],
    [{ set: {}, remove: [] }, '', 'set or remove at least one header'],
    [{ set: { 'X-A': 1 } }, 'set.X-A', ''],
    [{ add: { 'X-A': '1' } }, '', ''],
  ])('%j is refused: %s', (options, path, message) => {
    const result = transformSchema.safeParse({ type: 'headers', ...options });
    expect(result.success).toBe(false);
    const issue = result.error!.issues.find((i) => i.path.join('.') === path);
    expect(issue, JSON.stringify(result.error!.issues)).toBeDefined();
    expect(issue!.message).toContain(message);
  });

  it('a template syntax error is a config error naming the route, step and header, with other errors', () => {
    const yaml = `
routes:
  - id: orders
    path: /in
    forward:
      url: http://127.0.0.1:1/hook
    transform:
      - type: headers
        set:
          X-Ok: "{{ body.event }}"
          X-Event-Type: "{{ bdy.event }}"
          Bad Name: x
`;
    let message = '';
    try {
      parseConfig(yaml, 'test.yaml', { env: {} });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(
      /test\.yaml:11:\d+: routes\[0\]\.transform\[0\]\.set\.X-Event-Type: invalid template expression '\{\{ bdy\.event \}\}'/,
    );
    expect(message).toMatch(/test\.yaml:12:\d+: routes\[0\]\.transform\[0\]\.set\["Bad Name"\]: /);
  });
});

describe('headers: end to end', () => {
  let target: Target;
  let relay: Relay;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
  });

  it('X-Event-Type from a body field arrives at the target; a removed header does not; injection is refused', async () => {
    target = await startTarget();
    relay = await startRelay(`
routes:
  - id: events
    path: /in/:tenant/events
    forward:
      url: ${target.url}/hook
      headers:
        X-Static: from-config
    transform:
      - type: headers
        set:
          X-Event-Type: "{{ body.event }}"
          X-Tenant: "{{ params.tenant }}"
          X-Optional: "{{ body.missing }}"
        remove: [X-Internal, x-static]
`);
    const body = '{"event":"invoice.paid","id":7}';
    const res = await fetch(`${relay.url}/in/acme/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-internal': 'secret-route',
        'x-optional': 'spoofed',
        'x-tenant': 'spoofed',
      },
      body,
    });
    expect(res.status).toBe(200);
    const got = target.received[0]!;
    expect(got.headers['x-event-type']).toBe('invoice.paid');
    expect(got.headers['x-tenant']).toBe('acme');
    expect(got.headers['x-internal']).toBeUndefined();
    expect(got.headers['x-static']).toBeUndefined();
    expect(got.headers['x-optional']).toBeUndefined();
    expect(got.body.toString()).toBe(body);

    const evil = await fetch(`${relay.url}/in/acme/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"event":"x\\r\\nX-Injected: 1"}',
    });
    expect(evil.status).toBe(422);
    expect(((await evil.json()) as { error: string }).error).toBe('HOOKRELAY_ERR_TRANSFORM_FAILED');
    expect(target.received).toHaveLength(1);
  });
});
