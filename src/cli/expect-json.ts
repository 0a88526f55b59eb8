/**
 * `expect.json` of `hookrelay test`, number for number. The forwarded body is read with every
 * number as sent (json.ts), but the config loader reads YAML numbers as doubles, so an expected
 * 5738291046618274931 would equal a forwarded 5738291046618275000 and the case could not catch
 * the very rounding it is there for. The config file is therefore read once more with YAML `int`
 * and `float` tags that keep a decimal's text, and each expectation gets those numbers back; its
 * strings stay as the loader interpolated them. Numbers then compare by exact decimal value:
 * `10.5` matches `10.50`, `5738291046618274931` does not match `5738291046618274932`.
 */
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import {
  CORE_SCHEMA,
  defineScalarTag,
  floatCoreTag,
  intCoreTag,
  load,
  NOT_RESOLVED,
  type ScalarTagDefinition,
} from 'js-yaml';
import { decimalKey, jsonNumberText } from '../core/decimal.ts';
import {
  exactNumber,
  isJsonObject,
  isNumber,
  isRawNumber,
  numberText,
  setOwn,
  toDouble,
} from '../core/json.ts';

const MAX_DIFFS = 10;

/** A YAML number tag whose decimals keep their text (hex, octal, .inf and .nan as before). */
function exact(base: ScalarTagDefinition<number>): ScalarTagDefinition<unknown> {
  return defineScalarTag<unknown>(base.tagName, {
    implicit: base.implicit,
    implicitFirstChars: base.implicitFirstChars,
    identify: () => false,
    resolve: (source, isExplicit, tagName) => {
      const value = base.resolve(source, isExplicit, tagName);
      if (value === NOT_RESOLVED) return value;
      const text = jsonNumberText(source);
      return text === undefined ? value : exactNumber(text);
    },
  });
}

const EXACT_SCHEMA = CORE_SCHEMA.withTags(exact(intCoreTag), exact(floatCoreTag));

/**
 * `expect.json` of each case as written in `file`, by route and case index; undefined when the
 * file cannot be read again (the loaded expectations are used as they are).
 */
export function exactExpectations(file: string): (route: number, test: number) => unknown {
  let document: unknown;
  try {
    document = load(readFileSync(file, 'utf8'), { schema: EXACT_SCHEMA });
  } catch {
    return () => undefined;
  }
  return (route, test) => {
    const tests = child(child(child(document, 'routes'), route), 'tests');
    return child(child(child(tests, test), 'expect'), 'json');
  };
}

function child(value: unknown, key: string | number): unknown {
  if (typeof key === 'number') return Array.isArray(value) ? value[key] : undefined;
  return isJsonObject(value) && Object.hasOwn(value, key) ? value[key] : undefined;
}

/** The loaded expectation with the numbers of the exact one where both have the same number. */
export function withExactNumbers(loaded: unknown, exactValue: unknown): unknown {
  if (typeof loaded === 'number') {
    return isRawNumber(exactValue) && toDouble(exactValue) === loaded ? exactValue : loaded;
  }
  if (Array.isArray(loaded)) {
    if (!Array.isArray(exactValue) || exactValue.length !== loaded.length) return loaded;
    return loaded.map((item, i) => withExactNumbers(item, exactValue[i]));
  }
  if (isJsonObject(loaded)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(loaded)) {
      setOwn(out, key, withExactNumbers(loaded[key], child(exactValue, key)));
    }
    return out;
  }
  return loaded;
}

function key(path: string, k: string | number): string {
  if (typeof k === 'number') return `${path}[${k}]`;
  return /^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`;
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

function same(expected: unknown, actual: unknown): boolean {
  if (isNumber(expected) && isNumber(actual)) {
    return decimalKey(numberText(expected)) === decimalKey(numberText(actual));
  }
  return isDeepStrictEqual(expected, actual);
}

/** `json $.order.id: expected "0042", got 42`, at most MAX_DIFFS lines. */
export function jsonDiff(expected: unknown, actual: unknown): string[] {
  const out: string[] = [];
  const walk = (exp: unknown, act: unknown, path: string) => {
    if (Array.isArray(exp) && Array.isArray(act)) {
      if (exp.length !== act.length) out.push(`${path}: expected ${exp.length} items, got ${act.length}`);
      for (let i = 0; i < Math.min(exp.length, act.length); i++) walk(exp[i], act[i], key(path, i));
      return;
    }
    if (isJsonObject(exp) && isJsonObject(act)) {
      for (const k of Object.keys(exp)) {
        if (!Object.hasOwn(act, k)) out.push(`${key(path, k)}: missing, expected ${show(exp[k])}`);
        else walk(exp[k], act[k], key(path, k));
      }
      for (const k of Object.keys(act)) {
        if (!Object.hasOwn(exp, k)) out.push(`${key(path, k)}: not expected, got ${show(act[k])}`);
      }
      return;
    }
    if (!same(exp, act)) out.push(`${path}: expected ${show(exp)}, got ${show(act)}`);
  };
  walk(expected, actual, '$');
  const lines = out.slice(0, MAX_DIFFS).map((line) => `json ${line}`);
  if (out.length > MAX_DIFFS) lines.push(`json … and ${out.length - MAX_DIFFS} more differences`);
  return lines;
}
