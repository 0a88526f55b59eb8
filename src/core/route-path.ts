/**
 * Inbound route paths: `/in/:tenant/orders`, or a prefix `/legacy/api/*`. Parsed once into
 * segments; `shape` replaces every parameter with `:` so two routes that would match the same
 * requests are caught at load time. A prefix route keeps `*` in its shape and matches its base
 * path and everything below it.
 */
export type Segment = { literal: string } | { param: string };

export interface RoutePath {
  /** The segments before `*` for a prefix route. */
  segments: Segment[];
  params: string[];
  shape: string;
  /** True for `/base/*`: the rest of the request path is appended to the target URL. */
  prefix: boolean;
}

/** Params key of the rest of the path below a prefix route: not a valid `:name`, so it cannot clash. */
export const REST = '*';

const PARAM = /^:([A-Za-z_][A-Za-z0-9_]*)$/;
const LITERAL = /^[A-Za-z0-9\-._~!$&'()+,;=@%]+$/;

export function parseRoutePath(path: string): RoutePath {
  if (!path.startsWith('/')) throw new Error(`must start with '/', got '${path}'`);
  if (path.includes('?') || path.includes('#')) throw new Error('must not contain a query or fragment');
  const raw = path === '/' ? [] : path.slice(1).replace(/\/$/, '').split('/');
  const segments: Segment[] = [];
  const params: string[] = [];
  let prefix = false;
  raw.forEach((part, index) => {
    if (part === '*') {
      if (index !== raw.length - 1) throw new Error(`'*' may only be the last segment, in '${path}'`);
      prefix = true;
    } else if (part.startsWith(':')) {
      const match = PARAM.exec(part);
      if (!match) throw new Error(`invalid parameter '${part}', expected ':name'`);
      if (params.includes(match[1]!)) throw new Error(`parameter '${part}' appears twice`);
      params.push(match[1]!);
      segments.push({ param: match[1]! });
    } else if (part === '' || part === '.' || part === '..' || !LITERAL.test(part)) {
      const hint = part.includes('*') ? " ('*' must be a whole segment, the last one)" : '';
      throw new Error(`invalid path segment '${part}' in '${path}'${hint}`);
    } else segments.push({ literal: part });
  });
  const shape = `/${[...segments.map((s) => ('param' in s ? ':' : s.literal)), ...(prefix ? ['*'] : [])].join('/')}`;
  return { segments, params, shape, prefix };
}
