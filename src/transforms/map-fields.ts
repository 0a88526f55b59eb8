/**
 * The declarative half of the `map` step: source and output paths, compiled once at config load,
 * and the value conversions (`type:`) applied per request. Pure functions, no request state.
 *
 * Path syntax, shared by sources and outputs: dotted keys (`Envelope.Body.Order.Id`), array
 * indices (`items[0].sku`) and quoted keys for names with dots or spaces (`["key.with.dots"]`,
 * `['Order Id']`). A source may start with `$.` (JSONPath style; `$` alone is the whole value) or
 * with a request root: `$query.name`, `$params.name`, `$headers.name`, `$method`, `$path`,
 * `$requestId`.
 *
 * Numbers keep the caller's digits (json.ts): a raw number is a leaf, and `type:` conversions work
 * on the number's text, so `type: string` gives the digits as sent and `number`/`integer` never
 * round (decimal.ts).
 */
import { integerText, isIntegral, jsonNumberText, parseDecimal } from '../core/decimal.ts';
import { exactNumber, isJsonObject, isRawNumber, numberText, setOwn, toDouble } from '../core/json.ts';

export type Key = string | number;

export const REQUEST_ROOTS = ['query', 'params', 'headers', 'method', 'path', 'requestId'] as const;
export type RequestRoot = (typeof REQUEST_ROOTS)[number];

/** Where a source path reads from: the current value (`body`) or a part of the inbound request. */
export interface SourcePath {
  root: 'body' | RequestRoot;
  keys: Key[];
}

/** Largest array index an output path may write: a mapping builds small documents. */
export const MAX_INDEX = 9_999;

const NAME = /[^.[\]\s'"]+/y;
const INDEX = /\[(\d+)\]/y;
const DOUBLE_QUOTED = /\[\s*("(?:[^"\\]|\\.)*")\s*\]/y;
const SINGLE_QUOTED = /\[\s*'([^']*)'\s*\]/y;
const ROOT = /\$([A-Za-z]+)/y;

/** `a.b[0]["c.d"]` → ['a', 'b', 0, 'c.d']; throws with a readable message on bad syntax. */
export function parseKeys(text: string, start = 0): Key[] {
  const keys: Key[] = [];
  let at = start;
  const fail = (why: string): never => {
    throw new Error(`invalid path '${text}': ${why} at character ${at + 1}`);
  };
  while (at < text.length) {
    const char = text[at];
    if (char === '[') {
      const bracket = readBracket(text, at);
      if (typeof bracket === 'string') fail(bracket);
      const { key, length } = bracket as { key: Key; length: number };
      keys.push(key);
      at += length;
      continue;
    }
    if (char === '.') {
      if (keys.length === 0 && at === start) fail('unexpected "."');
      at++;
    } else if (keys.length > 0) {
      fail('expected "." or "["');
    }
    const m = match(NAME, text, at);
    if (!m) fail('expected a key name');
    keys.push(m![0]);
    at += m![0].length;
  }
  return keys;
}

/** `[0]`, `["a.b"]` or `['a b']` at `at`: the key and the length read, or why it is not one. */
function readBracket(text: string, at: number): { key: Key; length: number } | string {
  const index = match(INDEX, text, at);
  if (index) {
    const n = Number(index[1]);
    return Number.isSafeInteger(n) ? { key: n, length: index[0].length } : 'index too large';
  }
  const double = match(DOUBLE_QUOTED, text, at);
  if (double) {
    try {
      return { key: JSON.parse(double[1]!) as string, length: double[0].length };
    } catch {
      return 'bad escape in a quoted key';
    }
  }
  const single = match(SINGLE_QUOTED, text, at);
  if (single) return { key: single[1]!, length: single[0].length };
  return 'expected [number], ["key"] or [\'key\']';
}

function match(re: RegExp, text: string, at: number): RegExpExecArray | null {
  re.lastIndex = at;
  return re.exec(text);
}

/** A source path: `$.a.b`, `a.b`, `$` (the whole value) or `$query.x`, `$headers.x-event`, … */
export function parseSourcePath(raw: string): SourcePath {
  const text = raw.trim();
  if (text === '') throw new Error('empty source path');
  if (text === '$') return { root: 'body', keys: [] };
  if (text.startsWith('$.')) return { root: 'body', keys: parseKeys(text, 2) };
  if (text.startsWith('$[')) return { root: 'body', keys: parseKeys(text, 1) };
  if (text.startsWith('$')) {
    const m = match(ROOT, text, 0);
    const name = m?.[1];
    if (!m || !REQUEST_ROOTS.includes(name as RequestRoot)) {
      throw new Error(
        `invalid source path '${text}': unknown root '${m ? m[0] : '$'}', expected $ (the body) or one of ${REQUEST_ROOTS.map((r) => `$${r}`).join(', ')}; write $["${m ? m[0] : '$'}"] for a body key that starts with $`,
      );
    }
    const root = name as RequestRoot;
    const rest = text.slice(m[0].length);
    if (rest !== '' && rest[0] !== '.' && rest[0] !== '[') {
      throw new Error(`invalid source path '${text}': expected "." or "[" after $${root}`);
    }
    const keys = rest === '' ? [] : parseKeys(rest.startsWith('.') ? rest.slice(1) : rest);
    if ((root === 'method' || root === 'path' || root === 'requestId') && keys.length > 0) {
      throw new Error(`invalid source path '${text}': $${root} is a string and has no keys`);
    }
    return { root, keys };
  }
  return { root: 'body', keys: parseKeys(text) };
}

/** An output path: `order.id`, `items[0].sku`, `["a.b"]` (a leading `$.` is allowed and ignored). */
export function parseOutputPath(raw: string): Key[] {
  const text = raw.trim();
  if (text === '' || text === '$') throw new Error('empty output path');
  const keys = text.startsWith('$.') ? parseKeys(text, 2) : parseKeys(text);
  for (const key of keys) {
    if (key === '__proto__') throw new Error(`invalid output path '${text}': '__proto__' is not allowed`);
    if (typeof key === 'number' && key > MAX_INDEX) {
      throw new Error(`invalid output path '${text}': index ${key} is larger than ${MAX_INDEX}`);
    }
  }
  return keys;
}

type Shape = { kind: 'leaf'; path: string } | { kind: 'object' | 'array'; children: Map<Key, Shape> };

/**
 * Checks that a set of output paths can all be written: none inside another (`a` and `a.b`), none
 * twice, and no container used both as a list and as an object (`a[0]` and `a.b`). Returns the
 * message for the first path (in the given order) that conflicts with an earlier one.
 */
export function outputConflicts(paths: readonly { text: string; keys: Key[] }[]): Map<string, string> {
  const problems = new Map<string, string>();
  let root: Shape | undefined;
  for (const { text, keys } of paths) {
    const problem = insert(text, keys);
    if (problem) problems.set(text, problem);
  }
  return problems;

  function insert(text: string, keys: Key[]): string | undefined {
    const kindOf = (key: Key) => (typeof key === 'number' ? 'array' : 'object');
    root ??= { kind: kindOf(keys[0]!), children: new Map() };
    let node: Shape = root;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (node.kind === 'leaf') return `'${text}' is inside '${node.path}', which is also set`;
      if (node.kind !== kindOf(key)) {
        const where = i === 0 ? 'the result' : `'${show(keys.slice(0, i))}'`;
        return `${where} cannot be both a list and an object ('${text}' uses it as ${typeof key === 'number' ? 'a list' : 'an object'})`;
      }
      const last = i === keys.length - 1;
      let child = node.children.get(key);
      if (child === undefined) {
        child = last
          ? { kind: 'leaf', path: text }
          : { kind: kindOf(keys[i + 1]!), children: new Map<Key, Shape>() };
        node.children.set(key, child);
      } else if (last) {
        return child.kind === 'leaf'
          ? `'${text}' sets the same place as '${child.path}'`
          : `'${text}' contains other mapped fields (e.g. '${firstLeaf(child)}')`;
      }
      node = child;
    }
    return undefined;
  }
}

function firstLeaf(shape: Shape): string {
  return shape.kind === 'leaf' ? shape.path : firstLeaf(shape.children.values().next().value!);
}

/** Keys back to the canonical path text, for messages. */
export function show(keys: readonly Key[]): string {
  let out = '';
  for (const key of keys) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (/^[^.[\]\s'"]+$/.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

/** Follows keys through objects and arrays, own properties only; undefined when absent. */
export function readPath(value: unknown, keys: readonly Key[], from = 0): unknown {
  let node = value;
  for (let i = from; i < keys.length; i++) {
    if (node === null || typeof node !== 'object' || isRawNumber(node)) return undefined;
    const key = keys[i]!;
    // A list has only its items: `list.length` is not data.
    if (Array.isArray(node) && typeof key === 'string' && !/^\d+$/.test(key)) return undefined;
    if (!Object.hasOwn(node, key)) return undefined;
    node = (node as Record<Key, unknown>)[key];
  }
  return node;
}

/**
 * Sets `value` at `keys` inside `target`, creating objects and lists on the way. A node of the wrong
 * kind on the way (only possible with `keep: true`: the input has a string where the mapping puts
 * an object) is replaced. Lists are padded with null so the JSON has no holes.
 */
export function writePath(target: Record<Key, unknown>, keys: readonly Key[], value: unknown): void {
  let node = target;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (Array.isArray(node) && typeof key === 'number') {
      while (node.length < key) node.push(null);
    }
    if (i === keys.length - 1) {
      node[key] = value;
      return;
    }
    const wantList = typeof keys[i + 1] === 'number';
    let next = Object.hasOwn(node, key) ? node[key] : undefined;
    if (wantList ? !Array.isArray(next) : !isJsonObject(next)) {
      next = wantList ? [] : {};
      node[key] = next;
    }
    node = next as Record<Key, unknown>;
  }
}

export const TYPES = ['string', 'number', 'integer', 'boolean'] as const;
export type FieldType = (typeof TYPES)[number];

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/** Converts a non-empty value; returns the reason as `{ error }` when it cannot. */
export function convert(value: unknown, type: FieldType): { value: unknown } | { error: string } {
  const cannot = () => ({ error: `cannot convert ${describeValue(value)} to ${article(type)}` });
  switch (type) {
    case 'string':
      if (typeof value === 'string') return { value };
      if (typeof value === 'number' || typeof value === 'boolean') return { value: String(value) };
      if (isRawNumber(value)) return { value: numberText(value) };
      return cannot();
    case 'number':
    case 'integer': {
      let text: string | undefined;
      if (typeof value === 'number' || isRawNumber(value)) text = numberText(value);
      else if (typeof value === 'string' && NUMBER.test(value.trim())) text = jsonNumberText(value.trim());
      // Exact digits, but a number a double cannot even approach (1e400) is not one a target reads.
      if (text === undefined || !Number.isFinite(Number(text))) return cannot();
      if (type === 'integer') {
        const decimal = parseDecimal(text);
        if (!decimal || !isIntegral(decimal)) return { error: `${describeValue(value)} is not an integer` };
        return { value: exactNumber(integerText(decimal)) };
      }
      return { value: typeof value === 'number' ? value : exactNumber(text) };
    }
    case 'boolean': {
      if (typeof value === 'boolean') return { value };
      const text =
        typeof value === 'string'
          ? value.trim().toLowerCase()
          : typeof value === 'number' || isRawNumber(value)
            ? String(toDouble(value))
            : '';
      if (TRUE.has(text)) return { value: true };
      if (FALSE.has(text)) return { value: false };
      return cannot();
    }
  }
}

function article(type: FieldType): string {
  return type === 'integer' ? 'an integer' : `a ${type}`;
}

/** A value for an error message: JSON, shortened, so a huge or odd body cannot flood the log. */
export function describeValue(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (isRawNumber(value)) return shorten(numberText(value));
  if (value !== null && typeof value === 'object') return 'an object';
  return shorten(JSON.stringify(value) ?? String(value));
}

function shorten(text: string): string {
  return text.length > 64 ? `${text.slice(0, 60)}…${text.slice(-1)}` : text;
}

/** `a=1&b=2&b=3` → `{ a: '1', b: ['2', '3'] }`. */
export function queryObject(query: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(query.keys())) {
    const all = query.getAll(key);
    setOwn(out, key, all.length === 1 ? all[0]! : all);
  }
  return out;
}
