import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decimalKey, integerText, jsonNumberText, parseDecimal } from '../../src/core/decimal.ts';
import {
  cloneJson,
  exactNumber,
  isJsonObject,
  isRawNumber,
  JsonDepthError,
  mayHoldInexactNumber,
  numberText,
  parseJsonText,
  toDouble,
} from '../../src/core/json.ts';
import { document, numberText as numberTexts, text } from './json-documents.ts';

/** json.ts, the one JSON parser of hookrelay, and decimal.ts, its exact decimal helpers. */

describe('parseJsonText', () => {
  it.each([
    // text, kept as a raw number?
    ['5738291046618274931', true],
    ['12345678901234567890', true],
    ['9007199254740993', true],
    ['9007199254740992', false],
    ['0.1000000000000000055511151231257827', true],
    ['0.30000000000000004', false],
    ['10.50', true],
    ['10.5', false],
    ['1e400', true],
    ['-1e400', true],
    ['1e-400', true],
    ['-0', true],
    ['-0.0', true],
    ['0', false],
    ['1e5', true],
    ['2.5E-3', true],
    ['1e21', true],
    ['1e+21', false],
    ['1e-7', false],
    ['0.000001', false],
    ['0.0000001', true],
    ['42', false],
    ['-42.25', false],
  ])('%s (raw: %s) is written back as it was', (number, raw) => {
    const body = `{"n":${number},"l":[${number}]}`;
    const value = parseJsonText(body) as { n: unknown; l: unknown[] };
    expect(isRawNumber(value.n)).toBe(raw);
    expect(typeof value.n === 'number').toBe(!raw);
    expect(JSON.stringify(value)).toBe(body);
    expect(numberText(value.n as number)).toBe(number);
    expect(toDouble(value.n as number)).toBe(Number(number));
  });

  it('a raw number is a frozen, null-prototype leaf, and not a JSON object', () => {
    const n = (parseJsonText('[10.50]') as unknown[])[0];
    expect(Object.isFrozen(n)).toBe(true);
    expect(Object.getPrototypeOf(n)).toBeNull();
    expect(isJsonObject(n)).toBe(false);
    expect(isJsonObject({})).toBe(true);
    expect(isJsonObject([])).toBe(false);
  });

  it('refuses text nested deeper than the limit before parsing, at the bracket that is too deep', () => {
    const deep = `${'['.repeat(5)}1${']'.repeat(5)}`;
    expect(parseJsonText(deep, 5)).toEqual([[[[[1]]]]]);
    const error = (() => {
      try {
        parseJsonText(` ${deep}`, 4);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(JsonDepthError);
    expect((error as JsonDepthError).offset).toBe(5);
  });

  it('throws JSON.parse’s SyntaxError, with its position, on either path', () => {
    expect(() => parseJsonText('{"a":1,}')).toThrow(SyntaxError);
    expect(() => parseJsonText('{"a":10.50,}')).toThrow(/position 11/);
    expect(() => parseJsonText('[007]')).toThrow(SyntaxError);
  });

  it('keeps own __proto__ keys as data on both paths', () => {
    for (const body of ['{"__proto__":{"x":1}}', '{"__proto__":{"x":1.0}}']) {
      const value = parseJsonText(body) as Record<string, unknown>;
      expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
      expect(Object.keys(value)).toEqual(['__proto__']);
      expect(JSON.stringify(value)).toBe(body);
    }
  });

  it('random documents with odd numbers are written back as the same text', () => {
    fc.assert(
      fc.property(document, (doc) => {
        const body = text(doc);
        expect(JSON.stringify(parseJsonText(body, Number.POSITIVE_INFINITY))).toBe(body);
      }),
      { numRuns: 500 },
    );
  });

  it('any text: a value equal to JSON.parse’s (numbers as doubles), or JSON.parse’s SyntaxError', () => {
    const texts = fc.oneof(
      fc.json(),
      fc.string({ maxLength: 40 }),
      fc.tuple(document, fc.nat()).map(([doc, cut]) => {
        const t = text(doc);
        return t.slice(0, cut % (t.length + 1));
      }),
    );
    const asDoubles = (value: unknown): unknown =>
      isRawNumber(value)
        ? toDouble(value)
        : Array.isArray(value)
          ? value.map(asDoubles)
          : isJsonObject(value)
            ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asDoubles(v)]))
            : value;
    fc.assert(
      fc.property(texts, (t) => {
        let expected: unknown;
        try {
          expected = JSON.parse(t);
        } catch (error) {
          expect(() => parseJsonText(t, Number.POSITIVE_INFINITY)).toThrow((error as Error).message);
          return;
        }
        expect(asDoubles(parseJsonText(t, Number.POSITIVE_INFINITY))).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });
});

describe('the fast path scan', () => {
  it.each([
    ['{"id":42,"name":"x"}', false],
    ['[1,-2,3.5,0,-7.25,123456789012345]', false],
    ['{"id":"5738291046618274931","at":"2025-03-31T12:00:00.000Z","uuid":"3f4a-4b5c-8d6e"}', false],
    ['{"s":"a \\" 1e5 \\\\","n":1}', false],
    ['true false null', false],
    ['[1234567890123456]', true],
    ['[10.50]', true],
    ['[1e5]', true],
    ['[1E5]', true],
    ['[-0]', true],
    // False positives only cost the slower parse: -0.5 and 0.000001 are printed back as written.
    ['[-0.5]', true],
    ['[0.000001]', true],
    ['{"s":"\\\\","n":10.50}', true],
    ['"unterminated', false],
  ])('%s: %s', (body, slow) => {
    expect(mayHoldInexactNumber(body)).toBe(slow);
  });

  it('a number the scan lets through is printed back by its double as written', () => {
    fc.assert(
      fc.property(numberTexts, fc.constantFrom('', ' ', ',', ']', '}'), (number, after) => {
        if (!mayHoldInexactNumber(`[${number}${after}`)) expect(String(Number(number))).toBe(number);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('cloneJson', () => {
  it('copies deeply, keeps raw numbers (structuredClone throws on them) and own __proto__ keys', () => {
    const value = parseJsonText(
      '{"a":{"n":5738291046618274931,"l":[10.50,1]},"__proto__":{"x":1e400}}',
    ) as Record<string, Record<string, unknown>>;
    expect(() => structuredClone(value)).toThrow();
    const copy = cloneJson(value);
    expect(JSON.stringify(copy)).toBe(JSON.stringify(value));
    expect(copy.a).not.toBe(value.a);
    expect(copy.a!.l).not.toBe(value.a!.l);
    expect(copy.a!.n).toBe(value.a!.n);
    expect(Object.keys(copy)).toEqual(['a', '__proto__']);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
  });
});

describe('decimal', () => {
  it.each([
    ['10.50', '10.5', true],
    ['1.05e1', '10.5', true],
    ['105E-1', '10.50', true],
    ['0', '-0', true],
    ['0.000', '0e10', true],
    ['100', '1e2', true],
    ['5738291046618274931', '5738291046618274932', false],
    ['0.1', '0.1000000000000000055511151231257827', false],
    ['-1', '1', false],
  ])('%s and %s have the same value: %s', (a, b, same) => {
    expect(decimalKey(a) === decimalKey(b)).toBe(same);
  });

  it.each([
    ['0042', '42'],
    ['+7', '7'],
    ['.5', '0.5'],
    ['-.5', '-0.5'],
    ['12.', '12'],
    ['10.50', '10.50'],
    ['1E5', '1E5'],
    ['-0', '-0'],
    ['007.10e+2', '7.10e+2'],
  ])('%s as JSON number text: %s', (loose, json) => {
    expect(jsonNumberText(loose)).toBe(json);
    expect(exactNumber(json)).toBeDefined();
  });

  it('integer digits without exponent; text that is not a decimal', () => {
    expect(integerText(parseDecimal('1e5')!)).toBe('100000');
    expect(integerText(parseDecimal('-0042.000')!)).toBe('-42');
    expect(integerText(parseDecimal('-0')!)).toBe('0');
    expect(integerText(parseDecimal('2.50e1')!)).toBe('25');
    for (const bad of ['', '.', '-', '1e', '0x1F', '1,5', 'e5', '1.2.3']) {
      expect(parseDecimal(bad)).toBeUndefined();
      expect(jsonNumberText(bad)).toBeUndefined();
    }
  });
});
