import fc from 'fast-check';
import { dump } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { compileRoutes } from '../../src/config/compile.ts';
import { parseConfig } from '../../src/config/load.ts';
import { HookrelayError } from '../../src/core/errors.ts';
import { isNumber, numberText, parseJsonText, toDouble } from '../../src/core/json.ts';
import type { InboundMessage } from '../../src/core/message.ts';
import type { SyncRoute } from '../../src/modes/sync/index.ts';
import { parseOutputPath, parseSourcePath } from '../../src/transforms/map-fields.ts';
import { runTransforms, StepError } from '../../src/transforms/run.ts';
import type { Payload } from '../../src/transforms/types.ts';

/**
 * Untrusted bodies through fixed mappings: whatever the caller sends, a map step either produces
 * JSON or refuses the request with a coded 4xx (400 only for bytes that are not JSON) — never an
 * unexpected exception, never a 5xx.
 */

function compile(step: Record<string, unknown>): SyncRoute {
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

function message(query: string): InboundMessage {
  return {
    requestId: 'req-1',
    routeId: 'r',
    method: 'POST',
    path: '/in/acme',
    params: { tenant: 'acme' },
    query: new URLSearchParams(query),
    rawQuery: query,
    headers: { 'content-type': 'application/json', 'x-event': 'e' },
    body: Buffer.alloc(0),
    clientIp: '127.0.0.1',
    receivedAt: 0,
  };
}

type Outcome = { ok: true; value: unknown; body: string } | { ok: false; status: number };

async function outcome(route: SyncRoute, payload: Payload, query = ''): Promise<Outcome> {
  try {
    const result = await runTransforms(route.transform, message(query), payload);
    return { ok: true, value: result.value, body: result.body.toString('utf8') };
  } catch (error) {
    // Anything but a StepError carrying a coded 4xx fails the property.
    if (!(error instanceof StepError) || !(error.error instanceof HookrelayError)) throw error;
    return { ok: false, status: error.error.status };
  }
}

/** JSON-like values whose keys are often the ones the mappings read, or dangerous ones. */
const key = fc.oneof(
  fc.constantFrom(
    'order',
    'id',
    'items',
    'sku',
    'total',
    'flag',
    'qty',
    'tags',
    'Envelope',
    'Body',
    '0',
    '1',
  ),
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'length', 'toString', 'a.b', '#text', '@_x'),
  fc.string({ maxLength: 6 }),
);
const scalar = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 12 }),
  fc.constantFrom(
    '',
    '  ',
    ' 12 ',
    '007',
    '12a',
    '0x10',
    '1e400',
    'true',
    'on',
    'NO',
    '9007199254740993',
    '-0',
  ),
);
const { value: jsonish } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 5 }),
  ),
}));
/** Values biased towards the shape the mappings expect, so the success paths are exercised too. */
const orderish = fc.record(
  {
    order: fc.record({ id: jsonish, total: scalar, flag: scalar, qty: scalar }, { requiredKeys: [] }),
    items: fc.array(fc.record({ sku: jsonish, qty: scalar }, { requiredKeys: [] }), { maxLength: 3 }),
    tags: jsonish,
  },
  { requiredKeys: [] },
);
const body = fc.oneof(jsonish, orderish);
const query = fc.oneof(
  fc.constant(''),
  fc.constantFrom('id=7', 'id=7&id=8', 'count=x', 'count=12'),
  fc.string({ maxLength: 16 }),
);

const declarative = compile({
  fields: {
    'order.id': '$.order.id',
    'order.ref': { from: 'order.id', type: 'string' },
    'order.total': { from: 'order.total', type: 'number', default: 0 },
    'order.qty': { from: 'order.qty', type: 'integer', trim: true },
    'order.flag': { from: 'order.flag', type: 'boolean' },
    'items[0].sku': 'items[0].sku',
    'items[1].sku': { from: '$.items[1].sku', trim: true },
    'meta["a.b"]': '["a.b"]',
    all: '$',
    tags: 'tags',
    source: { const: { system: 'erp', n: [1, 2] } },
    ref: { template: '{{ body.order.id }}-{{ params.tenant }}-{{ query.id }}' },
    query: '$query',
    count: { from: '$query.count', type: 'integer', default: 1 },
    event: '$headers.x-event',
  },
});
const strict = compile({
  fields: {
    id: { from: 'order.id', required: true, type: 'string' },
    total: { from: 'order.total', required: true, type: 'number' },
  },
});
const keep = compile({ keep: true, fields: { 'order.status': { const: 'seen' }, 'extra[1]': 'id' } });
const expression = compile({
  jsonata: `{
    "id": order.id,
    "skus": [items.sku],
    "total": $sum(items[$type(qty) = "number"].qty),
    "flag": $type(order.flag) = "string" ? $uppercase(order.flag) : order.flag,
    "tenant": $params.tenant,
    "query": $query
  }`,
});
const numberExpression = compile({ jsonata: '$number(order.total) * 2' });

const asJson = (value: unknown): Payload => ({
  kind: 'bytes',
  bytes: Buffer.from(JSON.stringify(value) ?? 'null'),
  contentType: 'application/json',
});

describe('map step: properties', () => {
  it('a fixed declarative mapping over random JSON: JSON out, or a 422', async () => {
    await fc.assert(
      fc.asyncProperty(body, query, async (value, q) => {
        for (const payload of [asJson(value), { kind: 'value', value } as const]) {
          const result = await outcome(declarative, payload, q);
          if (!result.ok) {
            expect(result.status).toBe(422);
            continue;
          }
          const out = parseJsonText(result.body) as Record<string, Record<string, unknown>>;
          // Typed fields hold their type (or are null/absent when the source was empty); an
          // integer keeps all its digits, beyond 2^53 too.
          const { total, qty, flag, ref } = out.order!;
          expect(isNumber(total) && Number.isFinite(toDouble(total))).toBe(true);
          expect(
            qty === undefined || qty === null || (isNumber(qty) && /^-?\d+$/.test(numberText(qty))),
          ).toBe(true);
          expect(flag === undefined || flag === null || typeof flag === 'boolean').toBe(true);
          expect(ref === undefined || ref === null || typeof ref === 'string').toBe(true);
          expect(out.source).toEqual({ system: 'erp', n: [1, 2] });
          expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('required and keep mappings over random JSON: JSON out, or a 422', async () => {
    await fc.assert(
      fc.asyncProperty(body, async (value) => {
        for (const route of [strict, keep]) {
          const result = await outcome(route, asJson(value));
          if (!result.ok) expect(result.status).toBe(422);
          else expect(() => JSON.parse(result.body)).not.toThrow();
        }
      }),
      { numRuns: 300 },
    );
  });

  it('fixed jsonata expressions over random JSON: JSON out, or a 422', async () => {
    await fc.assert(
      fc.asyncProperty(body, query, async (value, q) => {
        for (const route of [expression, numberExpression]) {
          const result = await outcome(route, asJson(value), q);
          if (!result.ok) expect(result.status).toBe(422);
          else expect(() => JSON.parse(result.body)).not.toThrow();
        }
      }),
      { numRuns: 200 },
    );
  });

  it('random and truncated bytes: only 400 (not JSON), 415 (not a JSON type) or 422', async () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
      fc.string({ maxLength: 64 }).map((s) => Buffer.from(s)),
      fc.tuple(body, fc.nat()).map(([value, cut]) => {
        const text = JSON.stringify(value) ?? 'null';
        return Buffer.from(text.slice(0, cut % (text.length + 1)));
      }),
    );
    const contentType = fc.constantFrom('application/json', 'text/plain', 'application/xml', undefined);
    await fc.assert(
      fc.asyncProperty(bytes, contentType, async (b, type) => {
        for (const route of [declarative, strict, keep, expression]) {
          const result = await outcome(route, { kind: 'bytes', bytes: b, contentType: type });
          if (!result.ok) expect([400, 415, 422]).toContain(result.status);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('the path parsers accept or reject any text with an Error, never anything else', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 24, unit: 'binary' }), (text) => {
        for (const parse of [parseSourcePath, parseOutputPath]) {
          try {
            const parsed = parse(text);
            expect(parsed).toBeDefined();
          } catch (error) {
            expect(error).toBeInstanceOf(Error);
            expect((error as Error).message).toMatch(/path/);
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
