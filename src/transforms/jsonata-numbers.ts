/**
 * Numbers across a jsonata evaluation. JSONata computes and compares on JS numbers only, so the
 * expression gets the current value with every raw number (json.ts) as its double; the result
 * then gets the caller's digits back wherever they are certain:
 *
 * - a list or object of the input the expression returns unchanged (`$`, `items`, `{ "o": order }`)
 *   is the input's own, every number in it as written, and so are the fields `$merge` takes from
 *   one (`$merge([$, { "source": "erp" }])`);
 * - a number the result holds is written as the input number it equals, when every input number
 *   with that double has the same exact value (`{ "id": order.id }`, `items.id`);
 * - when input numbers with different values share the double (consecutive 19-digit ids), such a
 *   number could be any of them: the step fails with 422 rather than guess;
 * - any other number was computed: it is the double, as JSONata made it.
 *
 * `$string()` follows the same rule for its argument, so `$string(order.id)` gives the caller's
 * digits (JSONata's own writes doubles, and non-integers to 15 significant digits). The `&`
 * operator cannot be reached from outside JSONata and writes doubles.
 */
import { decimalKey } from '../core/decimal.ts';
import { isRawNumber, type RawNumber, rawNumber, setOwn } from '../core/json.ts';

/** The input numbers that have one double; -0 apart from 0, as their texts differ. */
interface Entry {
  /** A plain number (its double's own text) was seen. */
  plain: boolean;
  /** Distinct source texts of raw numbers, in the order seen. */
  texts: string[];
  /** How a number of the result with this double is written, once worked out. */
  resolved?: Resolution;
}

type Resolution =
  | { kind: 'double' }
  | { kind: 'raw'; value: RawNumber }
  | { kind: 'ambiguous'; texts: string[] };

type Key = number | '-0';
const keyOf = (n: number): Key => (Object.is(n, -0) ? '-0' : n);

/** Thrown when a number of the result cannot be given back its digits; a 422 of the step. */
export class AmbiguousNumber extends Error {}

/** A jsonata built-in as `evaluate` bindings take it (what `registerFunction` would build). */
export interface JsonataFunction {
  _jsonata_function: true;
  implementation: (...args: unknown[]) => unknown;
  signature: unknown;
}

/** One evaluation's numbers: `input` for jsonata, `restore` for its result. */
export class NumberBridge {
  readonly input: unknown;
  private readonly entries = new Map<Key, Entry>();
  /** jsonata's view of each input list and object → the input's own (with its raw numbers). */
  private readonly originals = new Map<object, object>();
  /** Each object `$merge` returned → the objects it merged, to take input fields from the input. */
  private readonly merges = new Map<object, unknown[]>();

  constructor(value: unknown) {
    this.input = this.toDoubles(value);
  }

  /** The result as plain JSON data with the digits back; drops functions as JSON.stringify would. */
  restore(value: unknown): unknown {
    if (typeof value === 'number') return this.resultNumber(value);
    if (value === null || typeof value !== 'object' || isRawNumber(value)) return value;
    if (isFunction(value)) return undefined;
    const original = this.originals.get(value);
    if (original !== undefined) return original;
    const parts = this.merges.get(value);
    if (parts !== undefined) return this.merged(parts);
    if (Array.isArray(value)) {
      return value.map((item) => {
        const v = this.restore(item);
        return v === undefined ? null : v;
      });
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const v = this.restore((value as Record<string, unknown>)[key]);
      if (v !== undefined) setOwn(out, key, v);
    }
    return out;
  }

  /** `$string` with the input's digits, built on JSONata's own (found once, `builtin`). */
  stringFunction(builtin: JsonataFunction): JsonataFunction {
    return {
      ...builtin,
      implementation: (...args: unknown[]) => {
        const [arg, ...rest] = args;
        if (typeof arg === 'number') {
          const resolution = this.resolve(arg);
          if (resolution === undefined) return builtin.implementation(arg, ...rest);
          if (resolution.kind === 'ambiguous') throw this.ambiguous(arg, resolution.texts);
          return resolution.kind === 'raw' ? resolution.value.rawJSON : String(arg);
        }
        return builtin.implementation(this.forString(arg), ...rest);
      },
    };
  }

  /** `$merge` as JSONata's, remembering what it merged (found once, `builtin`). */
  mergeFunction(builtin: JsonataFunction): JsonataFunction {
    return {
      ...builtin,
      implementation: (...args: unknown[]) => {
        const result = builtin.implementation(...args);
        if (result !== null && typeof result === 'object' && Array.isArray(args[0]))
          this.merges.set(result, args[0]);
        return result;
      },
    };
  }

  /** A merged object with the last part's value per key, as `$merge` does, input fields as written. */
  private merged(parts: unknown[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const part of parts) {
      if (part === null || typeof part !== 'object') continue;
      const original = this.originals.get(part) as Record<string, unknown> | undefined;
      for (const key of Object.keys(part)) {
        const value = original ? original[key] : this.restore((part as Record<string, unknown>)[key]);
        if (value === undefined) delete out[key];
        else setOwn(out, key, value);
      }
    }
    return out;
  }

  private toDoubles(value: unknown): unknown {
    if (typeof value === 'number') {
      this.entry(value).plain = true;
      return value;
    }
    if (value === null || typeof value !== 'object') return value;
    if (isRawNumber(value)) {
      const double = Number(value.rawJSON);
      const { texts } = this.entry(double);
      if (!texts.includes(value.rawJSON)) texts.push(value.rawJSON);
      return double;
    }
    let view: unknown[] | Record<string, unknown> | undefined;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        const converted = this.toDoubles(item);
        if (converted !== item && view === undefined) view = value.slice(0, i);
        if (view !== undefined) (view as unknown[]).push(converted);
      }
    } else {
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record);
      for (let i = 0; i < keys.length; i++) {
        const item = record[keys[i]!];
        const converted = this.toDoubles(item);
        if (converted !== item && view === undefined) {
          view = {};
          for (let j = 0; j < i; j++) setOwn(view, keys[j]!, record[keys[j]!]);
        }
        if (view !== undefined) setOwn(view as Record<string, unknown>, keys[i]!, converted);
      }
    }
    const out = view ?? value;
    this.originals.set(out, value);
    return out;
  }

  private entry(double: number): Entry {
    const key = keyOf(double);
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = { plain: false, texts: [] };
      this.entries.set(key, entry);
    }
    return entry;
  }

  /** How a number equal to `double` is written; undefined when no input number has that double. */
  private resolve(double: number): Resolution | undefined {
    const entry = this.entries.get(keyOf(double));
    if (entry === undefined) return undefined;
    if (entry.resolved) return entry.resolved;
    const candidates = entry.plain ? [String(double), ...entry.texts] : entry.texts;
    const values = new Set(candidates.map((text) => decimalKey(text) ?? text));
    entry.resolved =
      values.size > 1
        ? { kind: 'ambiguous', texts: candidates }
        : entry.plain || entry.texts.length === 0
          ? { kind: 'double' }
          : { kind: 'raw', value: rawNumber(entry.texts[0]!) };
    return entry.resolved;
  }

  private resultNumber(double: number): number | RawNumber {
    const resolution = this.resolve(double);
    if (resolution === undefined || resolution.kind === 'double') return double;
    if (resolution.kind === 'raw') return resolution.value;
    throw this.ambiguous(double, resolution.texts);
  }

  /**
   * `$string`'s argument with every input number as a raw value, so JSONata's JSON.stringify
   * writes it in full (its replacer rounds doubles only); computed numbers stay doubles.
   */
  private forString(value: unknown): unknown {
    if (typeof value === 'number') {
      const resolution = this.resolve(value);
      if (resolution === undefined) return value;
      if (resolution.kind === 'ambiguous') throw this.ambiguous(value, resolution.texts);
      return resolution.kind === 'raw' ? resolution.value : exactDouble(value);
    }
    if (value === null || typeof value !== 'object' || isRawNumber(value) || isFunction(value)) return value;
    const original = this.originals.get(value);
    if (original !== undefined) return inputForString(original);
    // JSONata wraps a list input in a one-item sequence flagged `outerWrapper`; $string unwraps it.
    if (Array.isArray(value) && (value as { outerWrapper?: boolean }).outerWrapper)
      return this.forString(value[0]);
    if (Array.isArray(value)) return value.map((item) => this.forString(item));
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value))
      setOwn(out, key, this.forString((value as Record<string, unknown>)[key]));
    return out;
  }

  private ambiguous(double: number, texts: string[]): AmbiguousNumber {
    const shown = texts.length > 4 ? `${texts.slice(0, 4).join(', ')}, …` : texts.join(', ');
    return new AmbiguousNumber(
      `a number of the result (the double ${String(double)}) could be any of ${shown} in the input, which a double cannot tell apart: return their list or object unchanged, or make them strings first (a \`fields\` step with \`type: string\`)`,
    );
  }
}

/** A double as a raw value of its own shortest text (finite: Infinity has no JSON text). */
function exactDouble(n: number): number | RawNumber {
  return Number.isFinite(n) ? rawNumber(String(n)) : n;
}

/** An input list or object for `$string`: its doubles in full, its raw numbers as they are. */
function inputForString(value: unknown): unknown {
  if (typeof value === 'number') return exactDouble(value);
  if (value === null || typeof value !== 'object' || isRawNumber(value)) return value;
  if (Array.isArray(value)) return value.map(inputForString);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value))
    setOwn(out, key, inputForString((value as Record<string, unknown>)[key]));
  return out;
}

/** A JS function, or a jsonata lambda or built-in (objects that carry their closure environment). */
export function isFunction(value: unknown): boolean {
  if (typeof value === 'function') return true;
  if (value === null || typeof value !== 'object') return false;
  const v = value as { _jsonata_lambda?: unknown; _jsonata_function?: unknown };
  return v._jsonata_lambda === true || v._jsonata_function === true;
}
