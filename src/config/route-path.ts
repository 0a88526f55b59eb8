/**
 * Inbound route paths: `/in/:tenant/orders`. Parsed once into segments; `shape` replaces every
 * parameter with `:` so two routes that would match the same requests are caught at load time.
 */
export type Segment = { literal: string } | { param: string };

export interface RoutePath {
  segments: Segment[];
  params: string[];
  shape: string;
}

const PARAM = /^:([A-Za-z_][A-Za-z0-9_]*)$/;
const LITERAL = /^[A-Za-z0-9\-._~!$&'()*+,;=@%]+$/;

export function parseRoutePath(path: string): RoutePath {
  if (!path.startsWith('/')) throw new Error(`must start with '/', got '${path}'`);
  if (path.includes('?') || path.includes('#')) throw new Error('must not contain a query or fragment');
  const raw = path === '/' ? [] : path.slice(1).replace(/\/$/, '').split('/');
  const segments: Segment[] = [];
  const params: string[] = [];
  for (const part of raw) {
    if (part.startsWith(':')) {
      const match = PARAM.exec(part);
      if (!match) throw new Error(`invalid parameter '${part}', expected ':name'`);
      if (params.includes(match[1]!)) throw new Error(`parameter '${part}' appears twice`);
      params.push(match[1]!);
      segments.push({ param: match[1]! });
    } else if (part === '' || part === '.' || part === '..' || !LITERAL.test(part)) {
      throw new Error(`invalid path segment '${part}' in '${path}'`);
    } else segments.push({ literal: part });
  }
  const shape = `/${segments.map((s) => ('param' in s ? ':' : s.literal)).join('/')}`;
  return { segments, params, shape };
}
