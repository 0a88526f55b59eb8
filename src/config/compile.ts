import { authRegistry } from '../auth/index.ts';
import type { OutboundAuth } from '../auth/types.ts';
import { parseRoutePath, type RoutePath } from './route-path.ts';
import type { Config, RouteConfig } from './schema.ts';
import { parseUrlTemplate, type UrlTemplate } from './template.ts';

/**
 * Turns the validated config into runtime routes once, at start: templates parsed, header maps
 * lower-cased, auth headers pre-built, retry status lists turned into a lookup. The request path
 * reads these and never re-parses configuration.
 */
export interface RetryPolicy {
  attempts: number;
  minDelay: number;
  maxDelay: number;
  factor: number;
  jitter: boolean;
  retryOn: (status: number) => boolean;
}

export interface CompiledForward {
  template: UrlTemplate;
  method: string | undefined;
  headers: Readonly<Record<string, string>>;
  passHeaders: ReadonlySet<string> | undefined;
  passQuery: boolean;
  auth: OutboundAuth | undefined;
}

export interface CompiledRespond {
  status: number;
  headers: Readonly<Record<string, string>>;
  body: string | undefined;
  bodyHasRequestId: boolean;
}

export interface CompiledRoute {
  id: string;
  path: RoutePath;
  methods: readonly string[];
  forward: CompiledForward | undefined;
  echo: boolean;
  respond: CompiledRespond | undefined;
  timeouts: { connect: number; attempt: number; deadline: number };
  retry: RetryPolicy;
  limits: { body: number; response: number };
}

export function compileRoutes(config: Config): CompiledRoute[] {
  return config.routes.map((route) => compileRoute(route, config.defaults));
}

function lower(map: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(map ?? {})) out[k.toLowerCase()] = v;
  return out;
}

export function statusMatcher(list: readonly (number | string)[]): (status: number) => boolean {
  const exact = new Set<number>();
  const classes = new Set<number>();
  for (const item of list) {
    if (typeof item === 'number') exact.add(item);
    else classes.add(Number(item[0]));
  }
  return (status) => exact.has(status) || classes.has(Math.floor(status / 100));
}

function compileRoute(route: RouteConfig, defaults: Config['defaults']): CompiledRoute {
  const path = parseRoutePath(route.path);
  const retry = { ...defaults.retry, ...route.retry };
  let forward: CompiledForward | undefined;
  if (route.forward) {
    const f = route.forward;
    forward = {
      template: parseUrlTemplate(f.url, path.params),
      method: f.method,
      headers: lower(f.headers),
      passHeaders: f.passHeaders ? new Set(f.passHeaders.map((h) => h.toLowerCase())) : undefined,
      passQuery: f.passQuery,
      auth: f.auth ? authRegistry.create(f.auth) : undefined,
    };
  }
  let respond: CompiledRespond | undefined;
  if (route.respond) {
    const headers = lower(route.respond.headers);
    if (route.respond.contentType) headers['content-type'] = route.respond.contentType;
    respond = {
      status: route.respond.status,
      headers,
      body: route.respond.body,
      bodyHasRequestId: route.respond.body?.includes('{requestId}') ?? false,
    };
  }
  return {
    id: route.id,
    path,
    methods: route.methods,
    forward,
    echo: route.echo === true,
    respond,
    timeouts: { ...defaults.timeouts, ...route.timeouts },
    retry: { ...retry, retryOn: statusMatcher(retry.retryOn) },
    limits: { ...defaults.limits, ...route.limits },
  };
}
