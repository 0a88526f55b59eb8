import { describe, expect, it } from 'vitest';
import { runTransforms, StepError } from '../../src/transforms/run.ts';
import { compile, inbound } from './support.ts';

/**
 * JSON numbers through every step that reads JSON: what the caller wrote is what the target gets,
 * digit for digit. Bodies and results are compared as text, since JSON.parse in a test would
 * round the very digits under test.
 */

/** A body with the numbers a double cannot carry as written. */
const ODD =
  '{"id":5738291046618274931,"ids":[12345678901234567890,12345678901234567891],"p":0.1000000000000000055511151231257827,"price":10.50,"huge":1e400,"neg":-0,"e":1e5,"E":2.5E-3,"small":42}';
const COPY = { id: 'id', ids: 'ids', p: 'p', price: 'price', huge: 'huge', neg: 'neg', e: 'e', E: 'E' };
const COPIED =
  '{"id":5738291046618274931,"ids":[12345678901234567890,12345678901234567891],"p":0.1000000000000000055511151231257827,"price":10.50,"huge":1e400,"neg":-0,"e":1e5,"E":2.5E-3}';

interface Case {
  name: string;
  steps: Record<string, unknown>[];
  body?: string;
  contentType?: string;
  query?: string;
  /** The forwarded body, as text. */
  expect?: string;
  headers?: Record<string, string>;
  /** A 422 whose message contains this. */
  error?: string;
}

const cases: Case[] = [
  {
    name: 'map fields: every odd number copied keeps its digits',
    steps: [{ type: 'map', fields: COPY }],
    expect: COPIED,
  },
  {
    name: 'map fields: items of a list of 20-digit integers',
    steps: [{ type: 'map', fields: { first: 'ids[0]', second: '$.ids[1]' } }],
    expect: '{"first":12345678901234567890,"second":12345678901234567891}',
  },
  {
    name: 'map fields: a raw number is a leaf, it has no keys',
    steps: [{ type: 'map', fields: { a: 'id.rawJSON', b: 'price["rawJSON"]', c: 'id' } }],
    expect: '{"c":5738291046618274931}',
  },
  {
    name: 'map type string: the caller’s digits',
    steps: [
      {
        type: 'map',
        fields: Object.fromEntries(
          ['id', 'price', 'huge', 'neg', 'e', 'E', 'small', 'p'].map((k) => [k, { from: k, type: 'string' }]),
        ),
      },
    ],
    expect:
      '{"id":"5738291046618274931","price":"10.50","huge":"1e400","neg":"-0","e":"1e5","E":"2.5E-3","small":"42","p":"0.1000000000000000055511151231257827"}',
  },
  {
    name: 'map type number: exact digits, from numbers and from strings',
    body: '{"a":"5738291046618274931","b":" 10.50 ","c":"0042","d":"+7","e":".5","f":5738291046618274931,"g":"1E5","h":"-0","i":"12.","j":10.50}',
    steps: [
      {
        type: 'map',
        fields: {
          a: { from: 'a', type: 'number' },
          b: { from: 'b', type: 'number', trim: true },
          c: { from: 'c', type: 'number' },
          d: { from: 'd', type: 'number' },
          e: { from: 'e', type: 'number' },
          f: { from: 'f', type: 'number' },
          g: { from: 'g', type: 'number' },
          h: { from: 'h', type: 'number' },
          i: { from: 'i', type: 'number' },
          j: { from: 'j', type: 'number' },
        },
      },
    ],
    expect:
      '{"a":5738291046618274931,"b":10.50,"c":42,"d":7,"e":0.5,"f":5738291046618274931,"g":1E5,"h":-0,"i":12,"j":10.50}',
  },
  {
    name: 'map type integer: exact digits beyond 2^53, integral forms as integers',
    body: '{"a":"12345678901234567890","b":5738291046618274931,"c":"12.0","d":1e5,"e":"-0042","f":2.50e1,"g":-0}',
    steps: [
      {
        type: 'map',
        fields: Object.fromEntries(
          ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((k) => [k, { from: k, type: 'integer' }]),
        ),
      },
    ],
    expect: '{"a":12345678901234567890,"b":5738291046618274931,"c":12,"d":100000,"e":-42,"f":25,"g":0}',
  },
  {
    name: 'map type integer: 10.50 is not an integer',
    steps: [{ type: 'map', fields: { price: { from: 'price', type: 'integer' } } }],
    error: "field 'price' (from 'price'): 10.50 is not an integer",
  },
  {
    name: 'map type number: beyond the range of a double is refused',
    steps: [{ type: 'map', fields: { huge: { from: 'huge', type: 'number' } } }],
    error: "field 'huge' (from 'huge'): cannot convert 1e400 to a number",
  },
  {
    name: 'map type boolean: by value, as before',
    body: '{"a":1.0,"b":-0,"c":1,"d":0.0}',
    steps: [
      {
        type: 'map',
        fields: Object.fromEntries(['a', 'b', 'c', 'd'].map((k) => [k, { from: k, type: 'boolean' }])),
      },
    ],
    expect: '{"a":true,"b":false,"c":true,"d":false}',
  },
  {
    name: 'map keep: true keeps every number',
    steps: [{ type: 'map', keep: true, fields: { added: { const: 1 } } }],
    expect: `${ODD.slice(0, -1)},"added":1}`,
  },
  {
    name: 'map keep: true writes through a raw number by replacing it',
    steps: [{ type: 'map', keep: true, fields: { 'price.cents': { const: 1050 } } }],
    body: '{"price":10.50,"id":5738291046618274931}',
    expect: '{"price":{"cents":1050},"id":5738291046618274931}',
  },
  {
    name: 'map keep: true on a body that is one odd number is refused like any number',
    body: '10.50',
    steps: [{ type: 'map', keep: true, fields: { a: { const: 1 } } }],
    error: 'keep: true needs a JSON object to start from, got 10.50',
  },
  {
    name: 'map template field: numbers render as the caller wrote them',
    steps: [
      {
        type: 'map',
        fields: { ref: { template: 'ORD-{{ body.id }}/{{ body.price }}/{{ body.ids }}/{{ body.neg }}' } },
      },
    ],
    expect: '{"ref":"ORD-5738291046618274931/10.50/[12345678901234567890,12345678901234567891]/-0"}',
  },
  {
    name: 'map two steps: a map’s output read by the next map keeps the digits',
    steps: [
      { type: 'map', keep: true, fields: { x: { const: true } } },
      { type: 'map', fields: { order: { from: 'id', type: 'string' }, copy: 'ids' } },
    ],
    expect: '{"order":"5738291046618274931","copy":[12345678901234567890,12345678901234567891]}',
  },
  {
    name: 'jsonata $: every number as written',
    steps: [{ type: 'map', jsonata: '$' }],
    expect: ODD,
  },
  {
    name: 'jsonata: numbers moved into a new object keep their digits',
    steps: [
      {
        type: 'map',
        jsonata:
          '{ "id": id, "ids": ids, "p": p, "price": price, "huge": huge, "neg": neg, "e": e, "E": E, "order": { "ref": id } }',
      },
    ],
    expect: `${COPIED.slice(0, -1)},"order":{"ref":5738291046618274931}}`,
  },
  {
    name: 'jsonata: a list the expression returns unchanged keeps numbers that share a double',
    steps: [{ type: 'map', jsonata: 'ids' }],
    expect: '[12345678901234567890,12345678901234567891]',
  },
  {
    name: 'jsonata: $merge keeps the fields it takes from the input as written, even sharing a double',
    body: '{"a":12345678901234567890,"b":12345678901234567891,"o":{"p":10.50}}',
    steps: [{ type: 'map', jsonata: '$merge([$, { "b": 7, "c": "new" }, o])' }],
    expect: '{"a":12345678901234567890,"b":7,"o":{"p":10.50},"c":"new","p":10.50}',
  },
  {
    name: 'jsonata: $string() gives the caller’s digits',
    steps: [
      {
        type: 'map',
        jsonata:
          '{ "s": $string(id), "t": $string(price), "o": $string({ "id": id, "l": ids }), "c": $string(0.1 + 0.2) }',
      },
    ],
    expect:
      '{"s":"5738291046618274931","t":"10.50","o":"{\\"id\\":5738291046618274931,\\"l\\":[12345678901234567890,12345678901234567891]}","c":"0.3"}',
  },
  {
    name: 'jsonata: $string() of a 16- or 17-digit double prints it in full',
    body: '{"n":1234567890123456,"f":0.30000000000000004}',
    steps: [{ type: 'map', jsonata: '[$string(n), $string(f), $string($)]' }],
    expect:
      '["1234567890123456","0.30000000000000004","{\\"n\\":1234567890123456,\\"f\\":0.30000000000000004}"]',
  },
  {
    name: 'jsonata: arithmetic and comparisons work on doubles',
    steps: [
      {
        type: 'map',
        jsonata:
          '{ "double": price * 2, "more": id > 1000, "sum": small + 1, "n": $count(ids), "same": ids[0] = ids[1] }',
      },
    ],
    expect: '{"double":21,"more":true,"sum":43,"n":2,"same":true}',
  },
  {
    name: 'jsonata: a number that stands for two different input numbers is refused, not guessed',
    steps: [{ type: 'map', jsonata: '{ "first": ids[0] }' }],
    error: '12345678901234567890, 12345678901234567891',
  },
  {
    name: 'jsonata: $string() of a number that stands for two input numbers is refused too',
    steps: [{ type: 'map', jsonata: '{ "s": $string(ids[1]) }' }],
    error: 'could be any of 12345678901234567890, 12345678901234567891 in the input',
  },
  {
    name: 'jsonata: equal values written differently are not ambiguous',
    body: '{"a":3.0,"b":3.00,"items":[1,2]}',
    steps: [{ type: 'map', jsonata: '{ "n": $count(items) + 1, "a": a, "b": b }' }],
    expect: '{"n":3.0,"a":3.0,"b":3.0}',
  },
  {
    name: 'jsonata: a computed number equal to an input number is written as the input writes it',
    body: '{"a":1.0,"big":5738291046618274931}',
    steps: [{ type: 'map', jsonata: '{ "one": 2 - 1, "three": 3, "plusOne": big + 1 }' }],
    expect: '{"one":1.0,"three":3,"plusOne":5738291046618274931}',
  },
  {
    name: 'headers: a header from a body field has the caller’s digits',
    steps: [
      {
        type: 'headers',
        set: { 'X-Order-Id': '{{ body.id }}', 'X-Price': '{{ body.price }}', 'X-Ids': '{{ body.ids }}' },
      },
    ],
    expect: ODD,
    headers: {
      'x-order-id': '5738291046618274931',
      'x-price': '10.50',
      'x-ids': '[12345678901234567890,12345678901234567891]',
    },
  },
  {
    name: 'headers after a map: the mapped value is read with its digits',
    steps: [
      { type: 'map', fields: { order: 'id' } },
      { type: 'headers', set: { 'X-Order-Id': '{{ body.order }}' } },
    ],
    expect: '{"order":5738291046618274931}',
    headers: { 'x-order-id': '5738291046618274931' },
  },
  {
    name: 'xml-out: element text and attributes are the numbers’ source text',
    body: '{"Order":{"@id":5738291046618274931,"Total":10.50,"Line":[12345678901234567890,12345678901234567891],"Neg":-0,"Huge":1e400,"Tiny":1e-7,"N":42}}',
    steps: [{ type: 'xml-out', declaration: false }],
    expect:
      '<Order id="5738291046618274931"><Total>10.50</Total><Line>12345678901234567890</Line><Line>12345678901234567891</Line><Neg>-0</Neg><Huge>1e400</Huge><Tiny>1e-7</Tiny><N>42</N></Order>',
  },
  {
    name: 'xml-out: a raw number is text, not an element',
    body: '{"Price":10.50}',
    steps: [{ type: 'xml-out', declaration: false, root: 'Ack' }],
    expect: '<Ack><Price>10.50</Price></Ack>',
  },
  {
    name: 'query: the body’s numbers keep their digits',
    body: '{"id":5738291046618274931,"p":10.50}',
    query: 'src=erp',
    steps: [{ type: 'query' }],
    expect: '{"id":5738291046618274931,"p":10.50,"src":"erp"}',
  },
  {
    name: 'query: a body that is one odd number is still a number, not an object',
    body: '10.50',
    steps: [{ type: 'query' }],
    error: 'the body is a number, not a JSON object',
  },
  {
    name: 'xml parseValues: decimals become numbers with exactly their digits',
    body: '<r a="5738291046618274931"><id>5738291046618274931</id><p>10.50</p><z>-0</z><n>42</n><t>true</t><lead>007</lead><exp>1e5</exp><plus>+7</plus><half>.5</half></r>',
    contentType: 'application/xml',
    steps: [{ type: 'xml', parseValues: true }],
    expect:
      '{"r":{"id":5738291046618274931,"p":10.50,"z":-0,"n":42,"t":true,"lead":"007","exp":"1e5","plus":"+7","half":".5","@a":5738291046618274931}}',
  },
  {
    name: 'xml parseValues then map: a 19-digit id as a string keeps its digits',
    body: '<Order><Id>5738291046618274931</Id></Order>',
    contentType: 'text/xml',
    steps: [
      { type: 'xml', parseValues: true },
      { type: 'map', fields: { id: { from: 'Order.Id', type: 'string' }, n: 'Order.Id' } },
    ],
    expect: '{"id":"5738291046618274931","n":5738291046618274931}',
  },
];

async function run(c: Case) {
  const body = Buffer.from(c.body ?? ODD);
  const message = inbound({ body, query: c.query ?? '' });
  return runTransforms(compile(...c.steps), message, {
    kind: 'bytes',
    bytes: body,
    contentType: c.contentType ?? 'application/json',
  });
}

describe('numbers keep the caller’s digits through the steps', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    if (c.error !== undefined) {
      const error = await run(c).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StepError);
      expect((error as StepError).error.status).toBe(422);
      expect((error as StepError).error.message).toContain(c.error);
      return;
    }
    const result = await run(c);
    expect(result.body.toString('utf8')).toBe(c.expect);
    if (c.headers) expect(result.setHeaders).toEqual(c.headers);
  });
});
