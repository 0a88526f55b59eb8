/**
 * The lookup URL of a `fetch` step: `https://id.example.com/users/{body.id}?tenant={params.tenant}`.
 * Parsed once at config load; placeholders may stand only in the path and the query, so the
 * scheme, host and port are the configuration's, as for targets. A placeholder reads the payload
 * so far (`body.…`) or the request (`params.…`, `query.…`, `headers.…`); its value is
 * percent-encoded, and in the path it may not hold a slash or be a dot segment (core/url-path.ts).
 */
import { HookrelayError } from '../core/errors.ts';
import { isRawNumber } from '../core/json.ts';
import type { InboundMessage } from '../core/message.ts';
import { compileTemplate, stringify, type Template } from '../core/text-template.ts';
import { isDotSegment, pathValueProblem } from '../core/url-path.ts';

const ROOTS = ['body', 'params', 'query', 'headers'] as const;
type Root = (typeof ROOTS)[number];

interface Placeholder {
  /** As written, for messages: `{body.id}`. */
  text: string;
  root: Root;
  keys: (string | number)[];
  inPath: boolean;
}

type Part = { literal: string } | Placeholder;

export interface LookupUrl {
  origin: string;
  parts: Part[];
  /** The template up to its query: what logs may show (no caller value, no query credential). */
  shown: string;
}

const PLACEHOLDER = /\{([^{}]*)\}/g;

/** Throws with a readable message; the schema turns it into a config error at the step's `url`. */
export function parseLookupUrl(template: string): LookupUrl {
  const scheme = /^(https?):\/\/([^/?#]*)/i.exec(template);
  if (!scheme)
    throw new Error(`must be an absolute http(s) URL, got '${template.replace(/\/\/[^/@]*@/, '//***@')}'`);
  if (/[{}]/.test(scheme[2]!)) {
    throw new Error('placeholders may only appear in the path and query, not in the host');
  }
  let origin: string;
  try {
    const url = new URL(template.replace(PLACEHOLDER, 'x'));
    if (url.username || url.password || url.hash) throw new Error('credentials or fragment');
    origin = url.origin;
  } catch {
    throw new Error('must be an absolute http(s) URL without credentials (use `auth`) or a fragment');
  }
  const parts: Part[] = [];
  let last = 0;
  let inPath = true;
  for (const match of template.matchAll(PLACEHOLDER)) {
    const literal = template.slice(last, match.index);
    if (literal) parts.push({ literal });
    if (literal.includes('?')) inPath = false;
    parts.push(placeholder(match[1]!.trim(), inPath));
    last = match.index + match[0].length;
  }
  if (last < template.length) parts.push({ literal: template.slice(last) });
  const q = template.indexOf('?');
  return { origin, parts, shown: q === -1 ? template : template.slice(0, q) };
}

function placeholder(expression: string, inPath: boolean): Placeholder {
  const text = `{${expression}}`;
  let compiled: Template;
  try {
    compiled = compileTemplate(`{{ ${expression} }}`);
  } catch {
    compiled = { parts: [], usesBody: false, isStatic: true };
  }
  const part = compiled.parts[0];
  if (
    !part ||
    !('root' in part) ||
    !(ROOTS as readonly string[]).includes(part.root) ||
    part.keys.length === 0
  ) {
    throw new Error(
      `unknown placeholder '${text}': expected {body.PATH} (the payload so far), {params.NAME}, {query.NAME} or {headers.NAME}`,
    );
  }
  return { text, root: part.root as Root, keys: part.keys, inPath };
}

function placeholderValue(part: Placeholder, body: unknown, message: InboundMessage): unknown {
  const [first, ...rest] = part.keys;
  switch (part.root) {
    case 'params':
      return rest.length ? undefined : message.params[String(first)];
    case 'query':
      return rest.length ? undefined : (message.query.get(String(first)) ?? undefined);
    case 'headers': {
      const value = message.headers[String(first).toLowerCase()];
      return Array.isArray(value) ? value.join(', ') : value;
    }
    case 'body': {
      let value = body;
      for (const key of part.keys) {
        if (value === null || typeof value !== 'object') return undefined;
        value = (value as Record<string | number, unknown>)[key];
      }
      return value;
    }
  }
}

/**
 * The URL for this call. Throws HOOKRELAY_ERR_FETCH_MISSING_VALUE for a placeholder without a
 * value (never a request to `/users/`), HOOKRELAY_ERR_INVALID_PARAMETER for a value that would
 * change the path, HOOKRELAY_ERR_TRANSFORM_FAILED for one that is an object or a list.
 */
export function renderLookupUrl(url: LookupUrl, step: string, body: unknown, message: InboundMessage): URL {
  let out = '';
  for (const part of url.parts) {
    if ('literal' in part) {
      out += part.literal;
      continue;
    }
    const raw = placeholderValue(part, body, message);
    if (raw !== null && typeof raw === 'object' && !isRawNumber(raw)) {
      throw new HookrelayError('HOOKRELAY_ERR_TRANSFORM_FAILED', {
        step,
        reason: `the value of ${part.text} for the lookup URL is ${Array.isArray(raw) ? 'a list' : 'an object'}, not a single value`,
      });
    }
    const value = stringify(raw);
    if (value === '') {
      throw new HookrelayError('HOOKRELAY_ERR_FETCH_MISSING_VALUE', { step, placeholder: part.text });
    }
    const problem = part.inPath ? pathValueProblem(value) : undefined;
    if (problem) {
      throw new HookrelayError('HOOKRELAY_ERR_INVALID_PARAMETER', {
        reason: `${step}: the value of ${part.text} holds ${problem}`,
      });
    }
    out += encodeURIComponent(value);
  }
  const rest = out.slice(out.indexOf('//') + 2);
  const end = rest.search(/[?#]/);
  const path = (end === -1 ? rest : rest.slice(0, end)).replace(/^[^/]*/, '');
  for (const segment of path.split('/')) {
    if (isDotSegment(segment)) {
      throw new HookrelayError('HOOKRELAY_ERR_INVALID_PARAMETER', {
        reason: `${step}: the lookup path would hold the dot segment '${segment}'`,
      });
    }
  }
  const result = new URL(out);
  if (result.origin !== url.origin) throw new Error(`lookup URL left its origin ${url.origin}`);
  return result;
}
