/**
 * Matches a request path against the compiled routes. Exact paths are a Map lookup; parameterised
 * paths are compared segment by segment. A parameter never matches `.` or `..` (also when
 * percent-encoded), so it cannot walk up the target's path. Precedence: exact paths, then
 * parameterised ones, then prefix routes (`/base/*`), the longest prefix first; among the routes
 * whose path matches, the first that accepts the method wins. A route whose `handshake` comes with
 * another method (Meta's GET on a POST route) takes that method too, after every route that
 * accepts it outright, marked `handshakeOnly`: the handshake stage answers it or refuses it 405.
 */
import { REST, type RoutePath } from '../core/route-path.ts';

export interface Routable {
  path: RoutePath;
  methods: readonly string[];
  handshake?: { handshake: { methods: readonly string[] } } | undefined;
}

export type Match<R> =
  | { kind: 'found'; route: R; params: Record<string, string>; handshakeOnly?: true }
  | { kind: 'method-not-allowed'; allow: string[]; route: R }
  | { kind: 'not-found' };

const NOT_FOUND = { kind: 'not-found' } as const;
const NO_PARAMS: Record<string, string> = Object.freeze({}) as Record<string, string>;

type Pattern<R> = { route: R; segments: RoutePath['segments'] };

export function createRouter<R extends Routable>(routes: readonly R[]) {
  const exact = new Map<string, R[]>();
  const patterns: Pattern<R>[] = [];
  const prefixes: Pattern<R>[] = [];
  for (const route of routes) {
    if (route.path.prefix) prefixes.push({ route, segments: route.path.segments });
    else if (route.path.params.length === 0) {
      const list = exact.get(route.path.shape) ?? [];
      list.push(route);
      exact.set(route.path.shape, list);
    } else patterns.push({ route, segments: route.path.segments });
  }
  // Longest prefix first; at equal length, literal segments before parameters.
  const literals = (p: Pattern<R>) => p.segments.filter((s) => 'literal' in s).length;
  prefixes.sort((a, b) => b.segments.length - a.segments.length || literals(b) - literals(a));

  function pick(candidates: { route: R; params: Record<string, string> }[], method: string): Match<R> {
    if (candidates.length === 0) return NOT_FOUND;
    for (const c of candidates) {
      if (c.route.methods.includes(method)) return { kind: 'found', route: c.route, params: c.params };
    }
    for (const c of candidates) {
      if (c.route.handshake?.handshake.methods.includes(method)) {
        return { kind: 'found', route: c.route, params: c.params, handshakeOnly: true };
      }
    }
    const allow = new Set<string>();
    for (const c of candidates) for (const m of c.route.methods) allow.add(m);
    return { kind: 'method-not-allowed', allow: [...allow], route: candidates[0]!.route };
  }

  return function match(method: string, pathname: string): Match<R> {
    const path = pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
    const candidates: { route: R; params: Record<string, string> }[] = [];
    const hits = exact.get(path);
    if (hits) for (const route of hits) candidates.push({ route, params: NO_PARAMS });
    if (patterns.length > 0 || prefixes.length > 0) {
      const parts = path === '/' ? [] : path.slice(1).split('/');
      for (const { route, segments } of patterns) {
        const params = matchSegments(segments, parts, false);
        if (params) candidates.push({ route, params });
      }
      if (prefixes.length > 0) {
        // The rest keeps a trailing slash: `/base/dir/` and `/base/dir` may be different resources.
        const all = pathname.slice(1).split('/');
        for (const { route, segments } of prefixes) {
          const params = matchSegments(segments, all, true);
          if (params) candidates.push({ route, params });
        }
      }
    }
    return pick(candidates, method);
  };
}

function matchSegments(
  segments: RoutePath['segments'],
  parts: string[],
  prefix: boolean,
): Record<string, string> | undefined {
  if (prefix ? parts.length < segments.length : segments.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const part = parts[i]!;
    if ('literal' in segment) {
      if (segment.literal !== part) return undefined;
      continue;
    }
    let value: string;
    try {
      value = decodeURIComponent(part);
    } catch {
      return undefined;
    }
    if (value === '' || value === '.' || value === '..') return undefined;
    params[segment.param] = value;
  }
  // Raw, as received, each segment after a `/` ('' for the base itself, '/' for `base/`): checked
  // and joined to the target URL by renderUrlTemplate.
  if (prefix)
    params[REST] = parts
      .slice(segments.length)
      .map((part) => `/${part}`)
      .join('');
  return params;
}
