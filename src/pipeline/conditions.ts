/**
 * Conditions on a call (a rule's `when`, a target's `when`; docs/routing.md): a small declarative
 * form compiled once at load into a predicate over the request's scope (method, path, headers,
 * query, path params, and the body after the steps that ran before), with JSONata as the escape
 * hatch. A field that is missing makes its test false, never an error: a sender's other event
 * types simply do not match.
 */
import { isNumber, numberText, toDouble } from '../core/json.ts';
import { jsonataCompiler } from '../core/optional-libs.ts';
import { compilePath, type FieldPath, readPath, type TemplateScope } from '../core/text-template.ts';
import { NumberBridge } from '../transforms/jsonata-numbers.ts';
import { queryObject } from '../transforms/map-fields.ts';
import { JSONATA_SEQUENCE, JSONATA_STACK, syntaxError } from '../transforms/map-jsonata.ts';

export type Scalar = string | number | boolean | null;

/**
 * A condition as validated by the schema (config/condition-schema.ts), which admits exactly one
 * form: `field` with one operator (or numeric bounds, which combine), `all`, `any`, `not` or `jsonata`.
 */
export interface ConditionConfig {
  field?: string | undefined;
  equals?: Scalar | undefined;
  in?: Scalar[] | undefined;
  exists?: boolean | undefined;
  matches?: string | undefined;
  gt?: number | undefined;
  gte?: number | undefined;
  lt?: number | undefined;
  lte?: number | undefined;
  all?: ConditionConfig[] | undefined;
  any?: ConditionConfig[] | undefined;
  not?: ConditionConfig | undefined;
  jsonata?: string | undefined;
}

/** How long a `jsonata` condition may run before the call fails (it is the escape hatch, not a program). */
export const CONDITION_JSONATA_TIMEOUT_MS = 1000;

/** A compiled condition; `test` is synchronous unless the condition holds a `jsonata` form. */
export interface Condition {
  test(scope: TemplateScope): boolean | Promise<boolean>;
  /** Whether it reads the body (so a route parses one only for rules that need it). */
  usesBody: boolean;
}

/** Thrown by `test` when a `jsonata` condition fails at run time; the rules stage answers 422. */
export class ConditionError extends Error {}

/** Compiles a validated condition. Throws with a readable message on a bad path, regex or expression. */
export function compileCondition(config: ConditionConfig): Condition {
  if (config.all) return combine(config.all.map(compileCondition), 'all');
  if (config.any) return combine(config.any.map(compileCondition), 'any');
  if (config.not) {
    const inner = compileCondition(config.not);
    return {
      usesBody: inner.usesBody,
      test: (scope) => {
        const r = inner.test(scope);
        return typeof r === 'boolean' ? !r : r.then((v) => !v);
      },
    };
  }
  if (config.jsonata !== undefined) return jsonataCondition(config.jsonata);
  if (config.field === undefined)
    throw new Error('a condition needs `field`, `all`, `any`, `not` or `jsonata`');
  return fieldTest(config.field, config);
}

function combine(parts: Condition[], kind: 'all' | 'any'): Condition {
  const want = kind === 'any';
  return {
    usesBody: parts.some((p) => p.usesBody),
    test(scope) {
      for (let i = 0; i < parts.length; i++) {
        const r = parts[i]!.test(scope);
        if (typeof r !== 'boolean') return rest(r, parts, i + 1, scope, want);
        if (r === want) return want;
      }
      return !want;
    },
  };
}

/** The remaining parts once one answered with a promise: evaluated in order, short-circuiting. */
async function rest(
  first: Promise<boolean>,
  parts: Condition[],
  from: number,
  scope: TemplateScope,
  want: boolean,
): Promise<boolean> {
  if ((await first) === want) return want;
  for (let i = from; i < parts.length; i++) {
    if ((await parts[i]!.test(scope)) === want) return want;
  }
  return !want;
}

function fieldTest(field: string, config: ConditionConfig): Condition {
  const path = compilePath(field);
  const usesBody = path.root === 'body';
  const read = (scope: TemplateScope) => readPath(scope, path);
  if (config.exists !== undefined) {
    const want = config.exists;
    return {
      usesBody,
      test: (s) => {
        const v = read(s);
        return (v !== undefined && v !== null) === want;
      },
    };
  }
  if (config.equals !== undefined) {
    const expected = config.equals;
    return { usesBody, test: (s) => equal(read(s), expected) };
  }
  if (config.in !== undefined) {
    const list = config.in;
    return { usesBody, test: (s) => list.some((v) => equal(read(s), v)) };
  }
  if (config.matches !== undefined) {
    const re = new RegExp(config.matches, 'u');
    return {
      usesBody,
      test: (s) => {
        const v = read(s);
        return (typeof v === 'string' || isNumber(v)) && re.test(text(v));
      },
    };
  }
  const bound = comparison(config, path);
  return { usesBody, test: (s) => bound(read(s)) };
}

function comparison(config: ConditionConfig, path: FieldPath): (value: unknown) => boolean {
  const checks: ((n: number) => boolean)[] = [];
  if (config.gt !== undefined) checks.push((n) => n > config.gt!);
  if (config.gte !== undefined) checks.push((n) => n >= config.gte!);
  if (config.lt !== undefined) checks.push((n) => n < config.lt!);
  if (config.lte !== undefined) checks.push((n) => n <= config.lte!);
  if (checks.length === 0) throw new Error(`condition on '${describe(path)}' has no operator`);
  return (value) => {
    const n = numeric(value);
    return n !== undefined && checks.every((check) => check(n));
  };
}

function describe(path: FieldPath): string {
  return [path.root, ...path.keys].join('.');
}

/** A number the field holds, as JSON or as text (`"42"` in a query or a header); else undefined. */
function numeric(value: unknown): number | undefined {
  if (isNumber(value)) return toDouble(value);
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function text(value: unknown): string {
  // A JSON number as the caller wrote it: a 19-digit id keeps every digit.
  return isNumber(value) ? numberText(value) : String(value);
}

/**
 * Equality as a user means it across formats: a JSON number equals the same number in config,
 * and a text field (query, header, form, XML text) equals a config number or boolean it spells.
 */
function equal(value: unknown, expected: Scalar): boolean {
  if (value === undefined) return false;
  if (expected === null) return value === null;
  if (typeof expected === 'number') {
    const n = numeric(value);
    return n !== undefined && n === expected;
  }
  if (typeof expected === 'boolean') return value === expected || value === String(expected);
  if (isNumber(value)) return numberText(value) === expected || numeric(expected) === toDouble(value);
  return value === expected;
}

function jsonataCondition(text: string): Condition {
  const expression = jsonataCompiler()(`$boolean((${text}))`, {
    timeout: CONDITION_JSONATA_TIMEOUT_MS,
    stack: JSONATA_STACK,
    sequence: JSONATA_SEQUENCE,
  });
  return {
    usesBody: true,
    async test(scope) {
      const numbers = new NumberBridge(scope.body());
      const bindings = {
        query: text.includes('$query') ? queryObject(scope.query) : {},
        params: scope.params,
        headers: scope.headers,
        method: scope.method,
        path: scope.path,
        requestId: scope.requestId,
      };
      try {
        return (await expression.evaluate(numbers.input, bindings)) === true;
      } catch (error) {
        const e = error as { message?: string; code?: string };
        throw new ConditionError(
          `jsonata condition: ${e.message ?? String(error)}${e.code ? ` [${e.code}]` : ''}`,
        );
      }
    },
  };
}

/** Checks a `jsonata` condition's syntax at load; the message names the position. */
export function checkJsonataCondition(text: string): string | undefined {
  try {
    jsonataCompiler()(text);
    return undefined;
  } catch (error) {
    return syntaxError(text, error);
  }
}
