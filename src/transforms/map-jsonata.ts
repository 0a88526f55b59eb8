/**
 * The `jsonata` form of the `map` step: one expression compiled at config load, evaluated per
 * request with the request bound as `$query`, `$params`, `$headers`, `$method`, `$path` and
 * `$requestId`, and bounded in time, recursion and sequence size. Numbers cross the evaluation
 * as doubles and come back with the caller's digits where that is certain (jsonata-numbers.ts).
 */
import { lineColumn } from '../core/line-column.ts';
import { jsonataCompiler } from '../core/optional-libs.ts';
import { failed } from './errors.ts';
import { AmbiguousNumber, isFunction, type JsonataFunction, NumberBridge } from './jsonata-numbers.ts';
import { queryObject } from './map-fields.ts';
import { payloadValue } from './payload.ts';
import type { TransformContext, TransformStep } from './types.ts';

/** Guardrails for a jsonata evaluation (jsonata 2.2 `stack` and `sequence` options; `timeout` is configurable). */
export const JSONATA_STACK = 500;
export const JSONATA_SEQUENCE = 1_000_000;

interface JsonataFailure {
  code?: string;
  message?: string;
  position?: number;
  token?: string;
  value?: unknown;
}

/** `syntax error at position 5 (line 1, column 5): Unexpected end of expression`. */
export function syntaxError(text: string, error: unknown): string {
  const e = error as JsonataFailure;
  const message = e.message ?? String(error);
  if (typeof e.position !== 'number') return `jsonata syntax error: ${message}`;
  // JSONata's position is just past the token it stopped at: the token's last character is before it.
  const { line, column } = lineColumn(text, Math.max(e.position - 1, 0));
  const where = text.includes('\n') ? ` (line ${line}, column ${column})` : '';
  const token = e.token && e.token !== '(end)' ? `, near '${e.token}'` : '';
  return `jsonata syntax error at position ${e.position}${where}${token}: ${message}${e.code ? ` [${e.code}]` : ''}`;
}

function runtimeError(error: unknown, timeout: number): string {
  if (error instanceof AmbiguousNumber) return `jsonata: ${error.message}`;
  const e = error as JsonataFailure;
  switch (e.code) {
    case 'D1012':
      return `the jsonata expression was stopped after ${timeout} ms (an endless loop?)`;
    case 'D1011':
      return `the jsonata expression was stopped at recursion depth ${JSONATA_STACK}`;
    case 'D2015':
      return `the jsonata expression was stopped: a sequence grew beyond ${JSONATA_SEQUENCE} items`;
  }
  const message = e.message ?? String(error);
  const where = typeof e.position === 'number' ? ` at position ${e.position}` : '';
  return `jsonata: ${message}${e.code ? ` [${e.code}${where}]` : where}`;
}

/** JSONata's own `$string` and `$merge`, which the per-evaluation ones are built on. */
const builtins = new Map<string, Promise<JsonataFunction>>();

function builtin(name: 'string' | 'merge'): Promise<JsonataFunction> {
  let found = builtins.get(name);
  if (found === undefined) {
    found = jsonataCompiler()(`$${name}`).evaluate({}) as Promise<JsonataFunction>;
    builtins.set(name, found);
  }
  return found;
}

export function jsonataStep(text: string, timeout: number, step: string): TransformStep {
  const expression = jsonataCompiler()(text, { timeout, stack: JSONATA_STACK, sequence: JSONATA_SEQUENCE });
  // Variables can only be read by name, so an expression without `$query` never needs the object.
  const usesQuery = text.includes('$query');
  const usesString = text.includes('$string');
  const usesMerge = text.includes('$merge');
  return {
    async run(ctx: TransformContext) {
      const numbers = new NumberBridge(payloadValue(ctx, step));
      const m = ctx.message;
      const bindings: Record<string, unknown> = {
        query: usesQuery ? queryObject(m.query) : {},
        params: m.params,
        headers: m.headers,
        method: m.method,
        path: m.path,
        requestId: m.requestId,
      };
      if (usesString) bindings.string = numbers.stringFunction(await builtin('string'));
      if (usesMerge) bindings.merge = numbers.mergeFunction(await builtin('merge'));
      let result: unknown;
      try {
        result = await expression.evaluate(numbers.input, bindings);
      } catch (error) {
        throw failed(step, runtimeError(error, timeout));
      }
      if (result === undefined) {
        throw failed(step, 'mapping produced no value (the jsonata expression matched nothing in the body)');
      }
      if (isFunction(result)) throw failed(step, 'mapping produced a function, not a value');
      let value: unknown;
      try {
        value = numbers.restore(result);
      } catch (error) {
        if (!(error instanceof AmbiguousNumber)) throw error;
        throw failed(step, `jsonata: ${error.message}`);
      }
      ctx.payload = { kind: 'value', value };
    },
  };
}
