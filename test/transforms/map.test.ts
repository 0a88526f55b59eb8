import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump, load } from 'js-yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { compileRoutes } from '../../src/config/compile.ts';
import { parseConfig } from '../../src/config/load.ts';
import { ConfigError, formatConfigIssue, type HookrelayError } from '../../src/core/errors.ts';
import type { InboundMessage } from '../../src/core/message.ts';
import type { SyncRoute } from '../../src/modes/sync/index.ts';
import { outputConflicts, parseOutputPath, parseSourcePath } from '../../src/transforms/map-fields.ts';
import { runTransforms, StepError } from '../../src/transforms/run.ts';
import type { Payload } from '../../src/transforms/types.ts';
import { type Relay, startRelay, startTarget, type Target } from '../helpers.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/transforms/map');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

interface CaseRequest {
  query?: string;
  params?: Record<string, string>;
  headers?: Record<string, string | string[]>;
  method?: string;
  path?: string;
}

interface Case {
  name: string;
  step: Record<string, unknown>;
  input?: unknown;
  inputFile?: string;
  as?: 'json' | 'value';
  request?: CaseRequest;
  expect?: unknown;
  error?: { status: number; message: string };
}

function message(request: CaseRequest = {}, body: Buffer = Buffer.alloc(0)): InboundMessage {
  const query = request.query ?? '';
  return {
    requestId: 'req-1',
    routeId: 'r',
    method: request.method ?? 'POST',
    path: request.path ?? '/in/acme',
    params: request.params ?? { tenant: 'acme' },
    query: new URLSearchParams(query),
    rawQuery: query,
    headers: { 'content-type': 'application/json', ...request.headers },
    body,
    clientIp: '127.0.0.1',
    receivedAt: 0,
  };
}

/** Compiles a map step the way the relay does: YAML → parseConfig → compileRoutes. */
function compileMap(step: Record<string, unknown>): SyncRoute {
  const yaml = dump({
    routes: [
      {
        id: 'r',
        path: '/in/:tenant',
        forward: { url: 'http://127.0.0.1:9/' },
        transform: [{ type: 'map', ...step }],
      },
    ],
  });
  return compileRoutes(parseConfig(yaml, 'test.yaml', { env: {} }))[0] as SyncRoute;
}

async function run(route: SyncRoute, payload: Payload, request?: CaseRequest): Promise<unknown> {
  const msg = message(request, payload.kind === 'bytes' ? payload.bytes : Buffer.alloc(0));
  const result = await runTransforms(route.transform, msg, payload);
  expect(result.contentType).toBe('application/json');
  return JSON.parse(result.body.toString('utf8'));
}

async function failure(promise: Promise<unknown>): Promise<HookrelayError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StepError);
  return (error as StepError).error;
}

const cases = load(fixture('cases.yaml')) as Case[];

describe('map step: table', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const input = c.inputFile ? JSON.parse(fixture(c.inputFile)) : c.input;
    const payload: Payload =
      c.as === 'value'
        ? { kind: 'value', value: input }
        : { kind: 'bytes', bytes: Buffer.from(JSON.stringify(input)), contentType: 'application/json' };
    const route = compileMap(c.step);
    if (c.error) {
      const error = await failure(run(route, payload, c.request));
      expect(error.code).toBe(c.error.status === 422 ? 'HOOKRELAY_ERR_TRANSFORM_FAILED' : error.code);
      expect(error.status).toBe(c.error.status);
      expect(error.message).toContain(c.error.message);
    } else {
      expect(await run(route, payload, c.request)).toEqual(c.expect);
    }
  });

  it('covers every option of the step', () => {
    const used = JSON.stringify(cases.map((c) => c.step));
    for (const option of ['"fields"', '"keep"', '"jsonata"', '"timeout"']) expect(used).toContain(option);
    for (const option of ['const', 'from', 'type', 'default', 'required', 'trim', 'template']) {
      expect(used).toContain(`"${option}":`);
    }
    for (const root of [
      '$query',
      '$params',
      '$headers',
      '$method',
      '$path',
      '$requestId',
      '$.',
      '$[',
      '["',
    ]) {
      expect(used).toContain(root);
    }
  });
});

describe('map step: behaviour', () => {
  it('reads a JSON body without a parse step, with any JSON media type or none', async () => {
    const route = compileMap({ fields: { id: 'order.id' } });
    const body = Buffer.from('{"order":{"id":"0042"}}');
    for (const contentType of ['application/json', 'application/vnd.erp+json; charset=utf-8', undefined]) {
      expect(await run(route, { kind: 'bytes', bytes: body, contentType })).toEqual({ id: '0042' });
    }
  });

  it('an empty body maps as an empty object', async () => {
    const route = compileMap({ fields: { source: { const: 'erp' }, id: 'id' } });
    expect(
      await run(route, { kind: 'bytes', bytes: Buffer.alloc(0), contentType: 'application/json' }),
    ).toEqual({
      source: 'erp',
    });
  });

  it('refuses a body it cannot read with 415, and malformed JSON with 400', async () => {
    const route = compileMap({ fields: { id: 'id' } });
    const binary = await failure(
      run(route, { kind: 'bytes', bytes: Buffer.from('<a/>'), contentType: 'text/xml' }),
    );
    expect(binary.status).toBe(415);
    expect(binary.message).toContain('transform[0] (map)');
    const broken = await failure(
      run(route, { kind: 'bytes', bytes: Buffer.from('{"a":'), contentType: 'application/json' }),
    );
    expect(broken.status).toBe(400);
  });

  it('constants and defaults are fresh copies: a later change does not leak into the next request', async () => {
    const route = compileMap({ fields: { meta: { const: { n: 1 } }, d: { from: 'x', default: [1] } } });
    const first = (await runTransforms(route.transform, message(), { kind: 'value', value: {} })).value as {
      meta: { n: number };
      d: number[];
    };
    first.meta.n = 99;
    first.d.push(2);
    expect(await run(route, { kind: 'value', value: {} })).toEqual({ meta: { n: 1 }, d: [1] });
  });

  it('keep does not modify the input value', async () => {
    const route = compileMap({ keep: true, fields: { 'a.b': { const: 2 } } });
    const input = { a: { b: 1 } };
    await runTransforms(route.transform, message(), { kind: 'value', value: input });
    expect(input).toEqual({ a: { b: 1 } });
  });

  it('a template sees the input of the step, not the partly built output', async () => {
    const route = compileMap({ fields: { id: { const: 'new' }, was: { template: '{{ body.id }}' } } });
    expect(await run(route, { kind: 'value', value: { id: 'old' } })).toEqual({ id: 'new', was: 'old' });
  });

  it('paths that look like prototype keys read only own data', async () => {
    const route = compileMap({
      fields: { a: 'constructor', b: 'x.__proto__', c: 'toString', d: 'list.length' },
    });
    expect(await run(route, { kind: 'value', value: { x: {}, list: [1] } })).toEqual({});
  });

  it('runs two maps in a row, the second reading the first one`s output', async () => {
    const yaml = `routes:
  - id: r
    path: /in
    forward: { url: "http://127.0.0.1:9/" }
    transform:
      - type: map
        fields: { order.id: id, order.total: { from: total, type: number } }
      - type: map
        jsonata: '{ "ref": "ORD-" & order.id, "big": order.total > 100 }'
`;
    const route = compileRoutes(parseConfig(yaml, 'test.yaml', { env: {} }))[0] as SyncRoute;
    expect(await run(route, { kind: 'value', value: { id: 7, total: '250' } })).toEqual({
      ref: 'ORD-7',
      big: true,
    });
  });

  it('a jsonata result is plain JSON data: sequences become lists, functions are dropped', async () => {
    const route = compileMap({ jsonata: '{ "skus": items.sku, "f": function($x) { $x }, "n": nope }' });
    const result = await runTransforms(route.transform, message(), {
      kind: 'value',
      value: { items: [{ sku: 'a' }, { sku: 'b' }] },
    });
    expect(result.value).toStrictEqual({ skus: ['a', 'b'] });
    expect(Object.keys(result.value as object)).toEqual(['skus']);
  });

  it('an expression that yields a function is a 422', async () => {
    const route = compileMap({ jsonata: 'function($x) { $x }' });
    const error = await failure(run(route, { kind: 'value', value: {} }));
    expect(error.status).toBe(422);
    expect(error.message).toContain('produced a function');
  });

  it('the default timeout bounds an endless loop', async () => {
    const route = compileMap({ jsonata: '($f := function($n) { $f($n + 1) }; $f(0))' });
    const error = await failure(run(route, { kind: 'value', value: {} }));
    expect(error.status).toBe(422);
    expect(error.message).toBe(
      'transform[0] (map): the jsonata expression was stopped after 1000 ms (an endless loop?)',
    );
  });

  it('concurrent evaluations of one compiled expression do not mix their inputs', async () => {
    const route = compileMap({ jsonata: '{ "id": id, "tenant": $params.tenant }' });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        runTransforms(route.transform, message({ params: { tenant: `t${i}` } }), {
          kind: 'value',
          value: { id: i },
        }),
      ),
    );
    expect(results.map((r) => r.value)).toEqual(
      Array.from({ length: 20 }, (_, i) => ({ id: i, tenant: `t${i}` })),
    );
  });
});

describe('map step: paths', () => {
  it.each([
    ['$', { root: 'body', keys: [] }],
    ['$.a.b', { root: 'body', keys: ['a', 'b'] }],
    ['a.b', { root: 'body', keys: ['a', 'b'] }],
    [' a.b ', { root: 'body', keys: ['a', 'b'] }],
    ['$[0].a', { root: 'body', keys: [0, 'a'] }],
    ['a[0][1]', { root: 'body', keys: ['a', 0, 1] }],
    ['a["x.y"].b', { root: 'body', keys: ['a', 'x.y', 'b'] }],
    ['a[ "q\\"uote" ]', { root: 'body', keys: ['a', 'q"uote'] }],
    ["a['x y']", { root: 'body', keys: ['a', 'x y'] }],
    ['soap:Envelope.@_id.#text', { root: 'body', keys: ['soap:Envelope', '@_id', '#text'] }],
    ['$query', { root: 'query', keys: [] }],
    ['$query.a[1]', { root: 'query', keys: ['a', 1] }],
    ['$headers["x-a"]', { root: 'headers', keys: ['x-a'] }],
    ['$params.tenant', { root: 'params', keys: ['tenant'] }],
    ['$requestId', { root: 'requestId', keys: [] }],
  ])('source %s', (text, parsed) => {
    expect(parseSourcePath(text)).toEqual(parsed);
  });

  it.each([
    ['', 'empty source path'],
    ['a..b', "invalid path 'a..b': expected a key name at character 3"],
    ['.a', 'invalid path \'.a\': unexpected "." at character 1'],
    ['a.', "invalid path 'a.': expected a key name at character 3"],
    ['a[x]', "invalid path 'a[x]': expected [number], [\"key\"] or ['key'] at character 2"],
    ['a[0]b', 'invalid path \'a[0]b\': expected "." or "[" at character 5'],
    ['a b', 'invalid path \'a b\': expected "." or "[" at character 2'],
    ['a["\\x"]', 'bad escape in a quoted key at character 2'],
    ['a[99999999999999999999]', 'index too large'],
    ['$foo.x', "unknown root '$foo'"],
    ['$queryx', "unknown root '$queryx'"],
    ['$method.x', '$method is a string and has no keys'],
  ])('bad source %j', (text, problem) => {
    expect(() => parseSourcePath(text)).toThrow(problem);
  });

  it('output paths', () => {
    expect(parseOutputPath('order.id')).toEqual(['order', 'id']);
    expect(parseOutputPath('$.order.id')).toEqual(['order', 'id']);
    expect(parseOutputPath('items[3].sku')).toEqual(['items', 3, 'sku']);
    expect(() => parseOutputPath('a.__proto__.b')).toThrow("'__proto__' is not allowed");
    expect(() => parseOutputPath('a[10000]')).toThrow('index 10000 is larger than 9999');
    expect(() => parseOutputPath('$')).toThrow('empty output path');
  });

  it('output conflicts', () => {
    const check = (...texts: string[]) =>
      Object.fromEntries(outputConflicts(texts.map((text) => ({ text, keys: parseOutputPath(text) }))));
    expect(check('a.b', 'a.c', 'd[0]', 'd[1].x')).toEqual({});
    expect(check('a', 'a.b')).toEqual({ 'a.b': "'a.b' is inside 'a', which is also set" });
    expect(check('a.b', 'a')).toEqual({ a: "'a' contains other mapped fields (e.g. 'a.b')" });
    expect(check('a.b', 'a["b"]')).toEqual({ 'a["b"]': "'a[\"b\"]' sets the same place as 'a.b'" });
    expect(check('a[0]', 'a.x')).toEqual({
      'a.x': "'a' cannot be both a list and an object ('a.x' uses it as an object)",
    });
    expect(check('a', '[0]')).toEqual({
      '[0]': "the result cannot be both a list and an object ('[0]' uses it as a list)",
    });
  });
});

describe('map step: config errors', () => {
  const configWith = (step: string) => `routes:
  - id: r
    path: /in
    forward: { url: "http://127.0.0.1:9/" }
    transform:
      - type: xml
      - type: map
${step}
`;
  const issues = (yaml: string): string[] => {
    try {
      parseConfig(yaml, 'hookrelay.yaml', { env: {} });
    } catch (error) {
      if (error instanceof ConfigError) return error.issues.map(formatConfigIssue);
      throw error;
    }
    return [];
  };
  const mapIssues = (step: string) => issues(configWith(step)).filter((i) => i.includes('transform[1]'));

  it('a jsonata syntax error names the route, step and position, at the file line', () => {
    expect(mapIssues('        jsonata: "Order.Id +"')).toEqual([
      'hookrelay.yaml:8:9: routes[0].transform[1].jsonata: jsonata syntax error at position 10: Unexpected end of expression [S0207] [HOOKRELAY_CONFIG_INVALID_EXPRESSION]',
    ]);
    expect(mapIssues('        jsonata: \'{ "a": $number(b }\'')).toEqual([
      'hookrelay.yaml:8:9: routes[0].transform[1].jsonata: jsonata syntax error at position 18, near \'}\': Expected ")", got "}" [S0202] [HOOKRELAY_CONFIG_INVALID_EXPRESSION]',
    ]);
  });

  it('a syntax error in a multi-line expression also gives its line and column inside the expression', () => {
    expect(
      mapIssues(`        jsonata: |
          {
            "id": Order.Id,
            "total": $number(Order.Total
          }`),
    ).toEqual([
      'hookrelay.yaml:8:9: routes[0].transform[1].jsonata: jsonata syntax error at position 52 (line 4, column 1), near \'}\': Expected ")", got "}" [S0202] [HOOKRELAY_CONFIG_INVALID_EXPRESSION]',
    ]);
  });

  it('both fields and jsonata, or neither, is an error', () => {
    expect(mapIssues('        fields: { a: b }\n        jsonata: a')).toEqual([
      'hookrelay.yaml:7:9: routes[0].transform[1]: a map step needs exactly one of `fields` or `jsonata` [HOOKRELAY_CONFIG_CONFLICT]',
    ]);
    expect(mapIssues('        keep: true')).toEqual([
      'hookrelay.yaml:7:9: routes[0].transform[1]: a map step needs exactly one of `fields` or `jsonata` [HOOKRELAY_CONFIG_CONFLICT]',
    ]);
  });

  it('bad fields are reported each at its own key, all at once', () => {
    expect(
      mapIssues(`        fields:
          a..b: x
          c: $foo.x
          d: { from: x, type: decimal }
          e: { frm: x }
          f: { const: 1, from: x }
          g: { const: 1, default: 2 }
          h: { template: "{{ nope }}" }
          i: 42
          j: x
          j.k: y`),
    ).toEqual([
      "hookrelay.yaml:10:11: routes[0].transform[1].fields.c: invalid source path '$foo.x': unknown root '$foo', expected $ (the body) or one of $query, $params, $headers, $method, $path, $requestId; write $[\"$foo\"] for a body key that starts with $ [HOOKRELAY_CONFIG_INVALID_EXPRESSION]",
      'hookrelay.yaml:11:11: routes[0].transform[1].fields.d: type: Invalid option: expected one of "string"|"number"|"integer"|"boolean" [HOOKRELAY_CONFIG_INVALID_VALUE]',
      "hookrelay.yaml:12:16: routes[0].transform[1].fields.e.frm: unknown key 'frm' [HOOKRELAY_CONFIG_UNKNOWN_KEY]",
      'hookrelay.yaml:12:11: routes[0].transform[1].fields.e: a field needs one of `from`, `const` or `template` [HOOKRELAY_CONFIG_CONFLICT]',
      'hookrelay.yaml:13:11: routes[0].transform[1].fields.f: a field takes only one of `const`, `from` [HOOKRELAY_CONFIG_CONFLICT]',
      'hookrelay.yaml:14:26: routes[0].transform[1].fields.g.default: `default` only applies with `from` [HOOKRELAY_CONFIG_CONFLICT]',
      "hookrelay.yaml:15:16: routes[0].transform[1].fields.h.template: invalid template expression '{{ nope }}': expected a path starting with one of body, query, params, headers, method, path, requestId [HOOKRELAY_CONFIG_INVALID_EXPRESSION]",
      'hookrelay.yaml:16:11: routes[0].transform[1].fields.i: expected a source path (string) or an object with `from`, `const` or `template` [HOOKRELAY_CONFIG_INVALID_VALUE]',
      'hookrelay.yaml:9:11: routes[0].transform[1].fields["a..b"]: invalid path \'a..b\': expected a key name at character 3 [HOOKRELAY_CONFIG_INVALID_EXPRESSION]',
      "hookrelay.yaml:18:11: routes[0].transform[1].fields[\"j.k\"]: 'j.k' is inside 'j', which is also set [HOOKRELAY_CONFIG_CONFLICT]",
    ]);
  });

  it('an empty fields map, a bad timeout', () => {
    expect(mapIssues('        fields: {}')).toEqual([
      'hookrelay.yaml:8:9: routes[0].transform[1].fields: no fields to map [HOOKRELAY_CONFIG_INVALID_VALUE]',
    ]);
    expect(mapIssues('        jsonata: a\n        timeout: 0')).toEqual([
      'hookrelay.yaml:9:9: routes[0].transform[1].timeout: must be more than 0 and at most 60s [HOOKRELAY_CONFIG_OUT_OF_RANGE]',
    ]);
    expect(mapIssues('        jsonata: a\n        timeout: 2m')).toEqual([
      'hookrelay.yaml:9:9: routes[0].transform[1].timeout: must be more than 0 and at most 60s [HOOKRELAY_CONFIG_OUT_OF_RANGE]',
    ]);
  });

  it('a valid step compiles, with keep false and a 1 s timeout by default', () => {
    const config = parseConfig(configWith('        fields: { a: b }'), 'hookrelay.yaml', { env: {} });
    expect(config.routes[0]!.transform![1]).toEqual({
      type: 'map',
      fields: { a: 'b' },
      keep: false,
      timeout: 1000,
    });
  });
});

describe('map step: end to end through the relay', () => {
  let target: Target;
  let relay: Relay;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
  });

  async function send(transform: string): Promise<unknown> {
    target = await startTarget();
    relay = await startRelay(`
routes:
  - id: billing
    path: /in/:tenant/billing
    forward:
      url: ${target.url}/api/invoices
    transform:
${transform}`);
    const res = await fetch(`${relay.url}/in/acme/billing?source=billing`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: fixture('event.json'),
    });
    expect(res.status).toBe(200);
    expect(target.received).toHaveLength(1);
    const got = target.received[0]!;
    expect(got.url).toBe('/api/invoices?source=billing');
    expect(got.headers['content-type']).toBe('application/json');
    return JSON.parse(got.body.toString('utf8'));
  }

  it('a JSON event reshaped with fields arrives as the mapped JSON', async () => {
    const received = await send(`      - type: map
        fields:
          invoice.number: $.data.object.number
          invoice.amountCents: { from: data.object.amount_paid, type: integer, required: true }
          invoice.currency: data.object.currency
          customer.email: { from: data.object.customer_email, trim: true }
          firstSku: data.object.lines[0].sku
          source: $query.source
          tenant: $params.tenant
          externalRef: { template: "{{ params.tenant }}/{{ body.id }}" }`);
    expect(received).toEqual(JSON.parse(fixture('event.fields.expected.json')));
  });

  it('a JSON event reshaped with jsonata arrives as the mapped JSON', async () => {
    const received = await send(`      - type: map
        jsonata: |
          (
            $o := data.object;
            {
              "invoice": $o.number,
              "amount": $o.amount_paid / 100,
              "currency": $uppercase($o.currency),
              "paidAt": $fromMillis(created * 1000),
              "items": [$o.lines.{ "sku": sku, "quantity": quantity, "total": quantity * unit_amount / 100 }],
              "large": $o.amount_paid > 10000,
              "tenant": $params.tenant
            }
          )`);
    expect(received).toEqual(JSON.parse(fixture('event.jsonata.expected.json')));
  });
});
