/**
 * URL templates: `https://api.example.com/{tenant}/orders?src={query.source}`. Parsed once at
 * config load into literal and placeholder parts; rendering is a join. Placeholders may only appear
 * in the path and query, so a template can never change the target's origin.
 */
import { HookrelayError } from '../core/errors.ts';
import { REST } from '../core/route-path.ts';
import { isDotSegment, pathValueProblem } from '../core/url-path.ts';

export type TemplatePart = { literal: string } | { param: string } | { query: string };

export interface UrlTemplate {
  origin: string;
  parts: TemplatePart[];
  /** True when the template has no placeholders: rendering returns the same string. */
  isStatic: boolean;
  /** The base URL of a prefix route: the rest of the request path (`params['*']`) is appended. */
  prefix: boolean;
}

const PLACEHOLDER = /\{([^{}]*)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const QUERY_NAME = /^query\.([A-Za-z0-9_.-]+)$/;

export function parseUrlTemplate(
  template: string,
  pathParams: readonly string[],
  prefix = false,
): UrlTemplate {
  const scheme = /^(https?):\/\/([^/?#]*)/i.exec(template);
  // Never quote user info back: it may hold a password.
  const shown = template.replace(/\/\/[^/@]*@/, '//***@');
  if (!scheme) throw new Error(`must be an absolute http(s) URL, got '${shown}'`);
  if (scheme[2]!.includes('{') || scheme[2]!.includes('}')) {
    throw new Error('placeholders may only appear in the path and query, not in the host');
  }
  let origin: string;
  try {
    const url = new URL(template.replace(PLACEHOLDER, 'x'));
    origin = url.origin;
    if (url.username || url.password) throw new Error('credentials in the URL');
  } catch {
    throw new Error(`must be an absolute http(s) URL without credentials (use forward.auth), got '${shown}'`);
  }
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    if (match.index > last) parts.push({ literal: template.slice(last, match.index) });
    const name = match[1]!;
    const query = QUERY_NAME.exec(name);
    if (query) parts.push({ query: query[1]! });
    else if (NAME.test(name) && pathParams.includes(name)) parts.push({ param: name });
    else {
      const known = pathParams.length ? pathParams.map((p) => `{${p}}`).join(', ') : 'none';
      throw new Error(
        `unknown placeholder '{${name}}': path parameters of this route are ${known}; query values are {query.NAME}`,
      );
    }
    last = match.index + match[0].length;
  }
  if (last < template.length) parts.push({ literal: template.slice(last) });
  if (prefix && template.includes('#')) {
    throw new Error('the base URL of a prefix route must not have a fragment');
  }
  return { origin, parts, isStatic: !prefix && parts.every((p) => 'literal' in p), prefix };
}

/**
 * Values are percent-encoded, so a parameter cannot inject `/`, `?` or `#`. A WHATWG URL parser
 * still removes `.` and `..` segments (also written `%2e`), and servlet containers do so after
 * cutting `;…` off a segment, so a value that renders to one is refused rather than allowed to walk
 * up the target's path; so is a value holding an (encoded) separator, in the path part of the URL.
 */
export function renderUrlTemplate(
  template: UrlTemplate,
  params: Readonly<Record<string, string>>,
  query: URLSearchParams,
): string {
  let out = '';
  let inQuery = false;
  for (const part of template.parts) {
    if ('literal' in part) {
      out += part.literal;
      inQuery ||= /[?#]/.test(part.literal);
      continue;
    }
    const value = ('param' in part ? params[part.param] : query.get(part.query)) ?? '';
    if (!inQuery) {
      const problem = pathValueProblem(value);
      if (problem) {
        const name = 'param' in part ? `{${part.param}}` : `{query.${part.query}}`;
        throw new HookrelayError('HOOKRELAY_ERR_INVALID_PARAMETER', {
          reason: `the value of ${name} holds ${problem}`,
        });
      }
    }
    out += encodeURIComponent(value);
  }
  if (template.prefix) out = joinRest(out, params[REST] ?? '');
  const pathEnd = out.search(/[?#]/);
  const path = out.slice(template.origin.length, pathEnd === -1 ? undefined : pathEnd);
  for (const segment of path.split('/')) {
    if (isDotSegment(segment)) {
      throw new HookrelayError('HOOKRELAY_ERR_INVALID_PARAMETER', {
        reason: `the target path would hold the dot segment '${segment}'`,
      });
    }
  }
  return out;
}

/** Characters a path segment may carry as they are (RFC 3986 pchar, without `%`). */
const PCHAR = /[A-Za-z0-9\-._~!$&'()*+,;=:@]/;
const ESCAPE = /^%[0-9A-Fa-f]{2}/;
/** Separators once decoded: a target that decodes `%2F` or `%5C` would see more segments than we checked. */
const ENCODED_SEPARATOR = /%2f|%5c/i;

/** Escapes that decode to something dangerous: seen after one decoding, a double-encoded attack. */
const DOUBLE_ENCODED = /%(2e|2f|5c|3b|00)/i;

/**
 * Why the rest of a path below a prefix route is refused, or undefined when it may be joined. The
 * rest is `''` (the base itself) or `/seg/seg…`, raw as received. Refused: `.` and `..` in any
 * encoding, also before a `;` parameter (`..;x`, `%2e%2e;`, `..%3b`: servlet containers cut the
 * parameter off, then walk up the base path), empty segments (`a//b`), encoded `/` and `\`, a raw
 * `\` (URL parsers read it as `/`), malformed `%` escapes, NUL bytes, and `.`, `/`, `\`, `;` or NUL
 * encoded twice (`%252e`), for targets that decode twice.
 */
export function restPathProblem(rest: string): string | undefined {
  if (rest === '') return undefined;
  const segments = rest.slice(1).split('/');
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    // A trailing slash is kept as sent; an empty segment anywhere else is a `//` trick.
    if (segment === '') {
      if (i === segments.length - 1) continue;
      return 'empty path segment (//)';
    }
    if (segment.includes('\\')) return 'backslash in the path';
    if (ENCODED_SEPARATOR.test(segment)) return 'encoded slash or backslash (%2F, %5C) in the path';
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return 'malformed percent-encoding in the path';
    }
    const beforeParameter = decoded.split(';', 1)[0]!;
    if (beforeParameter === '.' || beforeParameter === '..') {
      return beforeParameter === decoded
        ? `dot segment '${segment}'`
        : `dot segment with a ';' parameter '${segment}'`;
    }
    if (decoded.includes('\0')) return 'NUL byte in the path';
    if (DOUBLE_ENCODED.test(decoded)) return `double-encoded '.', '/', '\\', ';' or NUL in '${segment}'`;
  }
  return undefined;
}

/**
 * Bytes a URL parser would re-encode are percent-encoded here, as the bytes they are: Node gives
 * the request target as latin1, so each char above 0x7f is one byte of the caller's UTF-8.
 */
function encodeSegment(segment: string): string {
  let out = '';
  let i = 0;
  for (const ch of segment) {
    const code = ch.codePointAt(0)!;
    if (PCHAR.test(ch) || (ch === '%' && ESCAPE.test(segment.slice(i, i + 3)))) out += ch;
    else if (code <= 0xff) out += `%${code.toString(16).toUpperCase().padStart(2, '0')}`;
    else out += encodeURIComponent(ch);
    i += ch.length;
  }
  return out;
}

/** Appends a checked rest (`''` or `/a/b`) to the path of `base`, before its query. */
function joinRest(base: string, rest: string): string {
  const problem = restPathProblem(rest);
  if (problem) throw new HookrelayError('HOOKRELAY_ERR_INVALID_PATH', { reason: problem });
  if (rest === '') return base;
  const end = base.search(/[?#]/);
  const path = end === -1 ? base : base.slice(0, end);
  const after = end === -1 ? '' : base.slice(end);
  const encoded = rest.split('/').map(encodeSegment).join('/');
  return `${path.endsWith('/') ? path.slice(0, -1) : path}${encoded}${after}`;
}
