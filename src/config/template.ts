import { HookrelayError } from '../errors.ts';

/**
 * URL templates: `https://api.example.com/{tenant}/orders?src={query.source}`. Parsed once at
 * config load into literal and placeholder parts; rendering is a join. Placeholders may only appear
 * in the path and query, so a template can never change the target's origin.
 */
export type TemplatePart = { literal: string } | { param: string } | { query: string };

export interface UrlTemplate {
  origin: string;
  parts: TemplatePart[];
  /** True when the template has no placeholders: rendering returns the same string. */
  isStatic: boolean;
}

const PLACEHOLDER = /\{([^{}]*)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const QUERY_NAME = /^query\.([A-Za-z0-9_.-]+)$/;

export function parseUrlTemplate(template: string, pathParams: readonly string[]): UrlTemplate {
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
  return { origin, parts, isStatic: parts.every((p) => 'literal' in p) };
}

const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;

/**
 * Values are percent-encoded, so a parameter cannot inject `/`, `?` or `#`. A WHATWG URL parser
 * still removes `.` and `..` segments (also written `%2e`), so a value that renders to one is
 * refused rather than allowed to walk up the target's path.
 */
export function renderUrlTemplate(
  template: UrlTemplate,
  params: Readonly<Record<string, string>>,
  query: URLSearchParams,
): string {
  let out = '';
  for (const part of template.parts) {
    if ('literal' in part) out += part.literal;
    else if ('param' in part) out += encodeURIComponent(params[part.param] ?? '');
    else out += encodeURIComponent(query.get(part.query) ?? '');
  }
  const pathEnd = out.search(/[?#]/);
  const path = out.slice(template.origin.length, pathEnd === -1 ? undefined : pathEnd);
  for (const segment of path.split('/')) {
    if (DOT_SEGMENT.test(segment)) {
      throw new HookrelayError('HOOKRELAY_ERR_INVALID_PARAMETER', { segment });
    }
  }
  return out;
}
