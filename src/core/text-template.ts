/**
 * Text templates over the request: `order {{ body.order.id }} from {{ headers.x-erp-system }}`.
 * Compiled once at config load into literal and path parts; rendering walks the paths. Roots:
 * body, query, params, headers, method, path, requestId.
 */
import { isRawNumber, numberText } from './json.ts';
import type { InboundMessage } from './message.ts';

export const TEMPLATE_ROOTS = ['body', 'query', 'params', 'headers', 'method', 'path', 'requestId'] as const;
/** Roots only an `onError` answer reads: the error answered, and the target's refusal. */
export const FAILURE_ROOTS = ['error', 'response'] as const;
export type TemplateRoot = (typeof TEMPLATE_ROOTS)[number] | (typeof FAILURE_ROOTS)[number];

/** A path into the request: `body.order.items[0].id`, `headers.x-event`, `query.id`, `method`. */
export interface FieldPath {
  root: TemplateRoot;
  keys: (string | number)[];
}

type Part = { literal: string } | FieldPath;

export interface Template {
  parts: Part[];
  /** Whether rendering needs the parsed body (so callers only parse when they must). */
  usesBody: boolean;
  isStatic: boolean;
}

export interface TemplateScope {
  body: () => unknown;
  query: URLSearchParams;
  params: Readonly<Record<string, string>>;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  method: string;
  path: string;
  requestId: string;
  /** In an `onError` answer: `{ code, message, status }` of the error answered. */
  error?: Readonly<Record<string, unknown>> | undefined;
  /** In an `onError` answer to a target's refusal: `{ status, headers, body }`, its body parsed on first use. */
  response?: (() => unknown) | undefined;
}

/** The parts of a request a template can read besides its body. */
export type ScopeRequest = Pick<
  InboundMessage,
  'query' | 'params' | 'headers' | 'method' | 'path' | 'requestId'
>;

/** A scope with no request behind it: every value reads as missing. */
export function emptyScope(requestId = '', method = '', path = ''): TemplateScope {
  return requestScope(
    { query: new URLSearchParams(), params: {}, headers: {}, method, path, requestId },
    () => undefined,
  );
}

/**
 * The scope of a request, its body worked out by `body` on first use only (a parse a template
 * never reads costs nothing) and kept for later reads.
 */
export function requestScope(message: ScopeRequest, body: () => unknown): TemplateScope {
  let parsed = false;
  let value: unknown;
  return {
    body: () => {
      if (!parsed) {
        value = body();
        parsed = true;
      }
      return value;
    },
    query: message.query,
    params: message.params,
    headers: message.headers,
    method: message.method,
    path: message.path,
    requestId: message.requestId,
  };
}

const EXPRESSION = /\{\{\s*([^{}]*?)\s*\}\}/g;
const KEY = /^(?:[A-Za-z_$][\w$-]*|\d+)$/;

/**
 * Throws with a readable message on a bad path; the schema turns that into a config error.
 * `failure`: the template answers an error (`onError`), so `error.…` and `response.…` may be read.
 */
export function compileTemplate(text: string, options: { failure?: boolean } = {}): Template {
  const parts: Part[] = [];
  let last = 0;
  for (const match of text.matchAll(EXPRESSION)) {
    if (match.index > last) parts.push({ literal: text.slice(last, match.index) });
    parts.push(parsePath(match[1]!, options.failure === true));
    last = match.index + match[0].length;
  }
  if (last < text.length) parts.push({ literal: text.slice(last) });
  for (const part of parts) {
    if ('literal' in part && (part.literal.includes('{{') || part.literal.includes('}}'))) {
      throw new Error(`unbalanced '{{' or '}}' in template '${text}': write expressions as {{ body.field }}`);
    }
  }
  return {
    parts,
    usesBody: parts.some((p) => 'root' in p && p.root === 'body'),
    isStatic: parts.every((p) => 'literal' in p),
  };
}

/**
 * A path as a template writes it between `{{ }}` (a rule's `field`, for one), checked once.
 * Throws with a readable message on a bad path.
 */
export function compilePath(expression: string): FieldPath {
  return parsePath(expression.trim());
}

function parsePath(expression: string, failure = false): FieldPath {
  // `a.b[0]["x.y"]` → ['a', 'b', 0, 'x.y']
  const keys: (string | number)[] = [];
  const re = /\[(\d+)\]|\["([^"]*)"\]|\.?([^.[\]]+)/g;
  let consumed = 0;
  for (const m of expression.matchAll(re)) {
    if (m.index !== consumed) break;
    consumed += m[0].length;
    if (m[1] !== undefined) keys.push(Number(m[1]));
    else if (m[2] !== undefined) keys.push(m[2]);
    else if (KEY.test(m[3]!)) keys.push(m[3]!);
    else break;
  }
  const root = keys.shift();
  const roots: readonly string[] = failure ? [...TEMPLATE_ROOTS, ...FAILURE_ROOTS] : TEMPLATE_ROOTS;
  if (consumed !== expression.length || typeof root !== 'string' || !roots.includes(root)) {
    const only =
      typeof root === 'string' && (FAILURE_ROOTS as readonly string[]).includes(root)
        ? ` (\`${root}\` is only known in an \`onError\` answer)`
        : '';
    throw new Error(
      `invalid template expression '{{ ${expression} }}': expected a path starting with one of ${roots.join(', ')}${only}`,
    );
  }
  return { root: root as TemplateRoot, keys };
}

/** The value at `path` in the request's scope; undefined when any part of it is missing. */
export function readPath(scope: TemplateScope, path: FieldPath): unknown {
  return lookup(scope, path.root, path.keys);
}

function lookup(scope: TemplateScope, root: TemplateRoot, keys: (string | number)[]): unknown {
  let value: unknown;
  switch (root) {
    case 'body':
      value = scope.body();
      break;
    case 'query': {
      if (keys.length === 0) return scope.query.toString();
      const all = scope.query.getAll(String(keys[0]));
      return all.length === 0 ? undefined : all.length === 1 ? all[0] : all;
    }
    case 'headers': {
      if (keys.length === 0) return undefined;
      const v = scope.headers[String(keys[0]).toLowerCase()];
      return Array.isArray(v) ? v.join(', ') : v;
    }
    case 'response':
      value = scope.response?.();
      break;
    default:
      value = scope[root];
  }
  for (const key of keys) {
    // A raw number (json.ts) is an object to `typeof`, but a number here: it has no keys.
    if (value === null || typeof value !== 'object' || isRawNumber(value)) return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

/** A value as template text: numbers as the caller wrote them, objects and lists as JSON. */
export function stringify(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (isRawNumber(value)) return numberText(value);
  return JSON.stringify(value);
}

export function renderTemplate(template: Template, scope: TemplateScope): string {
  let out = '';
  for (const part of template.parts) {
    out += 'literal' in part ? part.literal : stringify(lookup(scope, part.root, part.keys));
  }
  return out;
}
