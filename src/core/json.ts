/**
 * The one way hookrelay turns JSON text into values (request bodies, target answers, templates,
 * `try`, `test` and the delivery views), and what every step needs to handle those values.
 *
 * JSON.parse makes every number a double, which silently changes what the caller sent:
 * 5738291046618274931 becomes 5738291046618275000, 10.50 becomes 10.5, -0 becomes 0, and 1e400
 * becomes Infinity, which JSON.stringify writes as null. Here a number whose text is not what its
 * double prints back is kept as a raw JSON value instead (Node 24: `JSON.parse` hands a reviver
 * the number's source text, `JSON.rawJSON` wraps it): a frozen, null-prototype
 * `{ rawJSON: "5738291046618274931" }` that JSON.stringify writes back as exactly that text. All
 * other numbers stay plain JS numbers, so most bodies hold no raw value at all.
 *
 * A raw number is an object to `typeof`: code that walks values must treat it as a number (a
 * leaf), which is what `isRawNumber`, `isJsonObject` and `numberText` are for, and must copy
 * values with `cloneJson` (structuredClone throws a DataCloneError on a raw value).
 */
import { DEFAULT_JSON_DEPTH, jsonDepthExceeded } from './json-depth.ts';

declare const RAW: unique symbol;
/** A number kept as its JSON source text (see above). */
export type RawNumber = { readonly rawJSON: string; readonly [RAW]: true };

/** Node 24 has JSON.rawJSON and JSON.isRawJSON; TypeScript's lib does not declare them yet. */
const NATIVE = JSON as unknown as {
  rawJSON(text: string): RawNumber;
  isRawJSON(value: unknown): boolean;
};

export function isRawNumber(value: unknown): value is RawNumber {
  return typeof value === 'object' && value !== null && NATIVE.isRawJSON(value);
}

/** A raw number holding `text`, which must be JSON number text (RFC 8259 §6). */
export function rawNumber(text: string): RawNumber {
  return NATIVE.rawJSON(text);
}

/** JSON number text as a value: a plain number when its double prints it back as written. */
export function exactNumber(text: string): number | RawNumber {
  const n = Number(text);
  return String(n) === text ? n : NATIVE.rawJSON(text);
}

export function isNumber(value: unknown): value is number | RawNumber {
  return typeof value === 'number' || isRawNumber(value);
}

/** The number's text: the caller's for a raw number, the shortest round trip for a double. */
export function numberText(value: number | RawNumber): string {
  return typeof value === 'number' ? String(value) : value.rawJSON;
}

/** The nearest double (Infinity beyond the range): what arithmetic and comparisons work on. */
export function toDouble(value: number | RawNumber): number {
  return typeof value === 'number' ? value : Number(value.rawJSON);
}

/** A JSON object: not null, not a list, not a raw number. */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !NATIVE.isRawJSON(value);
}

/** Thrown by parseJsonText for text nested deeper than the limit; `offset` is the deep bracket. */
export class JsonDepthError extends Error {
  readonly offset: number;
  readonly maxDepth: number;
  constructor(offset: number, maxDepth: number) {
    super(`nested deeper than the limit of ${maxDepth} levels`);
    this.offset = offset;
    this.maxDepth = maxDepth;
  }
}

/**
 * JSON text to a value with every number as written. Text nested deeper than `maxDepth` is
 * refused first (JsonDepthError, see json-depth.ts: the walks after the parse recurse); malformed
 * text throws JSON.parse's SyntaxError, position and all.
 */
export function parseJsonText(text: string, maxDepth: number = DEFAULT_JSON_DEPTH): unknown {
  const deep = jsonDepthExceeded(text, maxDepth);
  if (deep !== -1) throw new JsonDepthError(deep, maxDepth);
  // The reviver costs a call per value; most bodies have no number it would change.
  return mayHoldInexactNumber(text) ? JSON.parse(text, keepSource) : JSON.parse(text);
}

function keepSource(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== 'number') return value;
  const source = context?.source;
  return source === undefined || String(value) === source ? value : NATIVE.rawJSON(source);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
/** Significant digits every decimal of at most this many keeps through a double (DBL_DIG). */
const SAFE_LENGTH = 15;

/**
 * Whether the text may hold a number its double would print differently. One pass outside the
 * strings (skipped with indexOf); true for any number token that is long, has an exponent or a
 * fraction ending in 0, starts with `-0`, or is below 1e-5 — false positives only cost the slower
 * parse. A token of at most 15 characters without those is printed back as written: it has at most
 * 15 significant digits, so it is the shortest text of its double, and JS writes it without an
 * exponent (1e-7 ≤ |x| < 1e21).
 */
export function mayHoldInexactNumber(text: string): boolean {
  const length = text.length;
  let i = 0;
  while (i < length) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = stringEnd(text, i);
    } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
      const start = i;
      let dot = -1;
      for (i++; i < length; i++) {
        const d = text.charCodeAt(i);
        if (d === DOT) dot = i;
        else if (d < ZERO || d > NINE) break;
      }
      const next = i < length ? text.charCodeAt(i) : 0;
      // An exponent, or a sign or letter a number cannot continue with: let the reviver decide.
      if (next === 0x65 || next === 0x45 || next === 0x2b || next === MINUS) return true;
      const negative = c === MINUS;
      if (i - start - (negative ? 1 : 0) > SAFE_LENGTH) return true;
      if (
        text.charCodeAt(start + (negative ? 1 : 0)) === ZERO &&
        (negative || text.startsWith('0.00000', start))
      ) {
        return true;
      }
      if (dot !== -1 && text.charCodeAt(i - 1) === ZERO) return true;
    } else {
      i++;
    }
  }
  return false;
}

/** The index after the string's closing quote (the text's end when it has none). */
function stringEnd(text: string, open: number): number {
  let close = text.indexOf('"', open + 1);
  while (close !== -1) {
    let backslashes = 0;
    for (let j = close - 1; text.charCodeAt(j) === BACKSLASH; j--) backslashes++;
    if (backslashes % 2 === 0) return close + 1;
    close = text.indexOf('"', close + 1);
  }
  return text.length;
}

/**
 * A deep copy of JSON data that keeps raw numbers (shared: they are frozen) and own `__proto__`
 * keys. Anything else than plain objects and lists (never in parsed JSON) goes to structuredClone.
 */
export function cloneJson<T>(value: T): T {
  if (value === null || typeof value !== 'object' || NATIVE.isRawJSON(value)) return value;
  if (Array.isArray(value)) return value.map(cloneJson) as T;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) setOwn(out, key, cloneJson((value as Record<string, unknown>)[key]));
  return out as T;
}

/** `out[key] = value`, also for `__proto__`, which an assignment would take as the prototype. */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}
