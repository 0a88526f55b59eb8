/**
 * Conditions (src/pipeline/conditions.ts, src/config/condition-schema.ts): the declarative tests on
 * the call's values, missing fields false, equality across JSON and text, regexes checked for
 * catastrophic backtracking, JSONata as the escape hatch; and config errors with file:line.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { regexProblem } from '../../src/config/condition-schema.ts';
import { parseConfig } from '../../src/config/load.ts';
import { ConfigError, formatConfigIssue } from '../../src/core/errors.ts';
import { parseJsonText } from '../../src/core/json.ts';
import { requestScope, type TemplateScope } from '../../src/core/text-template.ts';
import { type ConditionConfig, compileCondition } from '../../src/pipeline/conditions.ts';

function scope(
  body: unknown,
  extra: { query?: string; headers?: Record<string, string> } = {},
): TemplateScope {
  return requestScope(
    {
      query: new URLSearchParams(extra.query ?? ''),
      params: { tenant: 'acme' },
      headers: extra.headers ?? {},
      method: 'POST',
      path: '/in/acme',
      requestId: 'r1',
    },
    () => body,
  );
}

const body = parseJsonText(
  '{"type":"order.created","amount":120.5,"id":12345678901234567890,"tags":["a","b"],"nested":{"ok":true,"none":null}}',
);

describe('conditions: field tests', () => {
  it.each<[string, ConditionConfig, boolean]>([
    ['equals string', { field: 'body.type', equals: 'order.created' }, true],
    ['equals other', { field: 'body.type', equals: 'order.paid' }, false],
    ['equals number', { field: 'body.amount', equals: 120.5 }, true],
    ['equals number as text', { field: 'query.n', equals: 7 }, true],
    ['equals boolean', { field: 'body.nested.ok', equals: true }, true],
    ['equals null', { field: 'body.nested.none', equals: null }, true],
    ['missing field equals', { field: 'body.nope.deeper', equals: 'x' }, false],
    ['in', { field: 'body.type', in: ['order.paid', 'order.created'] }, true],
    ['in misses', { field: 'body.type', in: ['x'] }, false],
    ['exists', { field: 'body.nested.ok', exists: true }, true],
    ['exists null is absent', { field: 'body.nested.none', exists: false }, true],
    ['exists missing', { field: 'body.missing', exists: true }, false],
    ['matches', { field: 'body.type', matches: '^order\\.(created|updated)$' }, true],
    ['matches a number', { field: 'body.amount', matches: '^120' }, true],
    ['matches a large id by its digits', { field: 'body.id', matches: '^12345678901234567890$' }, true],
    ['equals a large id as text', { field: 'body.id', equals: '12345678901234567890' }, true],
    ['matches an object never', { field: 'body.nested', matches: '.*' }, false],
    ['gt', { field: 'body.amount', gt: 100 }, true],
    ['bounds combine', { field: 'body.amount', gte: 100, lt: 120 }, false],
    ['numeric text', { field: 'headers.x-count', lte: 3 }, true],
    ['text is not a number', { field: 'body.type', gt: 0 }, false],
    ['array index', { field: 'body.tags[1]', equals: 'b' }, true],
    ['params', { field: 'params.tenant', equals: 'acme' }, true],
    ['method', { field: 'method', in: ['POST', 'PUT'] }, true],
    [
      'all',
      {
        all: [
          { field: 'body.type', exists: true },
          { field: 'body.amount', gt: 1000 },
        ],
      },
      false,
    ],
    [
      'any',
      {
        any: [
          { field: 'body.type', equals: 'x' },
          { field: 'body.amount', gt: 100 },
        ],
      },
      true,
    ],
    ['not', { not: { field: 'body.type', equals: 'x' } }, true],
  ])('%s', (_name, config, expected) => {
    const result = compileCondition(config).test(scope(body, { query: 'n=7', headers: { 'x-count': '3' } }));
    expect(result).toBe(expected);
  });

  it('a body that is not an object matches no field test and never throws', () => {
    for (const b of [undefined, null, 'text', 42, [1, 2]]) {
      expect(compileCondition({ field: 'body.type', equals: 'x' }).test(scope(b))).toBe(false);
      expect(compileCondition({ field: 'body.type', exists: false }).test(scope(b))).toBe(true);
    }
  });

  it('jsonata conditions see the body and the bindings; any with a jsonata part short-circuits in order', async () => {
    const c = compileCondition({ jsonata: 'amount > 100 and $params.tenant = "acme"' });
    await expect(c.test(scope(body))).resolves.toBe(true);
    const mixed = compileCondition({
      any: [{ field: 'body.type', equals: 'x' }, { jsonata: 'tags[1] = "b"' }],
    });
    await expect(mixed.test(scope(body))).resolves.toBe(true);
  });

  it('property: any JSON body and any field test give a boolean', () => {
    const tests = fc.oneof(
      fc.record({
        field: fc.constantFrom('body.a', 'body.a.b', 'body.a[0]'),
        equals: fc.oneof(fc.string(), fc.integer(), fc.boolean()),
      }),
      fc.record({ field: fc.constantFrom('body.a', 'body.a.b'), gt: fc.integer() }),
      fc.record({ field: fc.constantFrom('body.a', 'body.a.b'), exists: fc.boolean() }),
      fc.record({
        field: fc.constantFrom('body.a', 'body.a.b'),
        matches: fc.constantFrom('^x', 'y$', '\\d+'),
      }),
    );
    fc.assert(
      fc.property(fc.jsonValue(), tests, (value, config) => {
        expect(typeof compileCondition(config).test(scope(value))).toBe('boolean');
      }),
    );
  });
});

describe('conditions: refused at load', () => {
  it.each([
    ['(a+)+$', true],
    ['^(\\d*)*x', true],
    ['(x{2,})+', true],
    ['^order\\.(created|updated)$', false],
    ['^[a-z]+(-[a-z]+)?$', false],
    ['(ab)+c', false],
    ['[(a+)+]', false],
  ])('%s nested quantifier: %s', (source, refused) => {
    expect(regexProblem(source) !== undefined).toBe(refused);
  });

  function issues(rules: string): string[] {
    try {
      parseConfig(
        `routes:
  - id: r
    path: /r
    forward: { url: "https://example.com" }
    rules:
${rules}`,
        'relay.yaml',
        { env: {} },
      );
      return [];
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return error.issues.map(formatConfigIssue);
    }
  }

  it('reports each problem with file:line and key', () => {
    const found = issues(`      - name: a
        when: { field: body.type, equals: x, in: [y] }
        drop: true
      - name: b
        when: { field: "body..x", exists: true }
        drop: true
      - name: c
        when: { field: body.t, matches: "(a+)+" }
        refuse: {}
      - name: d
        when: { jsonata: "amount >" }
        drop: true
      - name: a
        drop: true
        refuse: {}
      - name: f
        when: { fild: body.x }
        target: erp
`).join('\n');
    expect(found).toMatch(/relay\.yaml:7:\d+.*routes\[0\]\.rules\[0\]\.when.*exactly one of `equals`/);
    expect(found).toMatch(/relay\.yaml:10:\d+.*rules\[1\]\.when\.field.*invalid field/);
    expect(found).toMatch(/relay\.yaml:13:\d+.*rules\[2\]\.when\.matches.*repeats a group/);
    expect(found).toMatch(/relay\.yaml:16:\d+.*rules\[3\]\.when\.jsonata.*jsonata syntax error/);
    expect(found).toMatch(/rules\[4\].*exactly one action/);
    expect(found).toMatch(/rules\[4\]\.name.*already defined/);
    expect(found).toMatch(/rules\[5\]\.when.*fild/);
    expect(found).toMatch(/rules\[5\]\.target.*`targets`/);
  });

  it('rules do not apply to stream or echo routes', () => {
    expect(() =>
      parseConfig(
        `routes:
  - id: s
    path: /s
    delivery: stream
    forward: { url: "https://example.com" }
    rules: [{ name: x, drop: true }]`,
        'relay.yaml',
        { env: {} },
      ),
    ).toThrow(/rules: does not apply to `delivery: stream`/);
  });
});
