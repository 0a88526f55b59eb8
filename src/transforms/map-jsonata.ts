/**
 * The `jsonata` form of the `map` step: one expression compiled at config load, evaluated per
 * request with the request bound as `$query`, `$params`, `$headers`, `$method`, `$path` and
 * `$requestId`, and bounded in time, recursion and sequence size.
 */
import jsonata from 'jsonata';
import { failed } from './errors.ts';
import { setOwn } from './form.ts';
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
  const before = text.slice(0, e.position);
  const line = before.split('\n').length;
  const column = e.position - (before.lastIndexOf('\n') + 1);
  const where = text.includes('\n') ? ` (line ${line}, column ${column})` : '';
  const token = e.token && e.token !== '(end)' ? `, near '${e.token}'` : '';
  return `jsonata syntax error at position ${e.position}${where}${token}: ${message}${e.code ? ` [${e.code}]` : ''}`;
}

function runtimeError(error: unknown, timeout: number): string {
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

export function jsonataStep(text: string, timeout: number, step: string): TransformStep {
  const expression = jsonata(text, { timeout, stack: JSONATA_STACK, sequence: JSONATA_SEQUENCE });
  // Variables can only be read by name, so an expression without `$query` never needs the object.
  const usesQuery = text.includes('$query');
  return {
    async run(ctx: TransformContext) {
      const input = payloadValue(ctx, step);
      const m = ctx.message;
      let result: unknown;
      try {
        result = await expression.evaluate(input, {
          query: usesQuery ? queryObject(m.query) : {},
          params: m.params,
          headers: m.headers,
          method: m.method,
          path: m.path,
          requestId: m.requestId,
        });
      } catch (error) {
        throw failed(step, runtimeError(error, timeout));
      }
      if (result === undefined) {
        throw failed(step, 'mapping produced no value (the jsonata expression matched nothing in the body)');
      }
      if (isFunction(result)) throw failed(step, 'mapping produced a function, not a value');
      ctx.payload = { kind: 'value', value: plain(result) };
    },
  };
}

/**
 * jsonata results as plain JSON data: its sequences (arrays with extra flags) become arrays, and
 * functions or undefined inside objects are dropped, as JSON.stringify would.
 */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map((item) => {
      const v = plain(item);
      return v === undefined ? null : v;
    });
  }
  if (isFunction(value)) return undefined;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const v = plain((value as Record<string, unknown>)[key]);
    if (v !== undefined) setOwn(out, key, v);
  }
  return out;
}

/** A JS function, or a jsonata lambda or built-in (objects that carry their closure environment). */
function isFunction(value: unknown): boolean {
  if (typeof value === 'function') return true;
  if (value === null || typeof value !== 'object') return false;
  const v = value as { _jsonata_lambda?: unknown; _jsonata_function?: unknown };
  return v._jsonata_lambda === true || v._jsonata_function === true;
}
