import { authRegistry } from '../auth/index.ts';
import { TokenSources } from '../auth/token-cache.ts';
import type { OutboundAuth } from '../auth/types.ts';
import { compileTls, type TlsIdentity } from '../delivery/tls.ts';
import { signerRegistry } from '../signers/index.ts';
import type { Signer } from '../signers/types.ts';
import { type HeadersConfig, staticHeaderEdits } from '../transforms/headers.ts';
import { type TransformConfig, transformRegistry } from '../transforms/index.ts';
import type { CompiledStep } from '../transforms/run.ts';
import { compileTemplate, type Template } from '../transforms/template.ts';
import type { StepInfo, TransformRuntime } from '../transforms/types.ts';
import { type VerifierConfig, verifierRegistry } from '../verifiers/index.ts';
import type { Verifier, VerifierInfo } from '../verifiers/types.ts';
import { parseRoutePath, type RoutePath } from './route-path.ts';
import { type Config, ROUTE_QUEUE_DEFAULTS, type RouteConfig } from './schema.ts';
import { parseUrlTemplate, type UrlTemplate } from './template.ts';

/**
 * Turns the validated config into runtime routes once, at start: templates parsed, header maps
 * lower-cased, auth headers pre-built, retry status lists turned into a lookup. The request path
 * reads these and never re-parses configuration.
 */
export interface RetryPolicy {
  attempts: number;
  minDelay: number;
  /** Cap of the computed backoff. */
  maxDelay: number;
  /** Cap of a target's Retry-After, which replaces the backoff (and is not capped by maxDelay). */
  maxRetryAfter: number;
  factor: number;
  jitter: boolean;
  retryOn: (status: number) => boolean;
}

export interface CompiledVerifier {
  info: VerifierInfo;
  type: string;
  verifier: Verifier;
}

export interface CompiledForward {
  template: UrlTemplate;
  method: string | undefined;
  headers: Readonly<Record<string, string>>;
  passHeaders: ReadonlySet<string> | undefined;
  passQuery: boolean;
  auth: OutboundAuth | undefined;
  /** Applied in order after `auth`, on every attempt. */
  sign: readonly Signer[];
  /** Client certificate and trusted CAs; undefined for the defaults (and for http targets). */
  tls: TlsIdentity | undefined;
  /** Same-origin redirects followed per attempt (0: a 3xx is the answer). */
  followRedirects: number;
  /** Caller credentials consumed by `verify` (API key header or query parameter): never forwarded. */
  consumedHeaders: ReadonlySet<string>;
  consumedQuery: ReadonlySet<string>;
}

export interface CompiledRespond {
  status: number;
  headers: Readonly<Record<string, string>>;
  /** `{{ … }}` template over the inbound request; `{requestId}` already rewritten into it. */
  body: Template | undefined;
}

export interface CompiledRoute {
  id: string;
  path: RoutePath;
  methods: readonly string[];
  forward: CompiledForward | undefined;
  echo: boolean;
  verify: readonly CompiledVerifier[];
  respond: CompiledRespond | undefined;
  /**
   * Outbound header values fixed by the configuration whatever the request: `forward.headers`,
   * then the values without `{{ }}` of `headers` steps. Queued deliveries do not store them: they
   * are applied from the configuration at each attempt (rotated secrets take effect).
   */
  configHeaders: Readonly<Record<string, string>>;
  /** Request steps, then steps over a 2xx target answer; empty when none are configured. */
  transform: readonly CompiledStep[];
  responseTransform: readonly CompiledStep[];
  delivery: 'sync' | 'async' | 'hybrid' | 'stream';
  /** Options of a stream route (defaults on other routes, where they are not used). */
  stream: { idleTimeout: number; retryRefused: boolean };
  /** Synchronous budget of a hybrid route, ms. */
  hybridBudget: number;
  /** The route's queue settings, the defaults for those it does not set (used by async and hybrid routes). */
  queue: typeof ROUTE_QUEUE_DEFAULTS;
  /** How to find a webhook's id for deduplication; undefined when the route does not deduplicate. */
  dedup: { header: string | undefined; field: Template | undefined; windowMs: number } | undefined;
  timeouts: { connect: number; attempt: number; deadline: number };
  retry: RetryPolicy;
  limits: { body: number; response: number; jsonDepth: number };
}

/** Routes whose webhooks go through the durable queue. */
export function isQueued(route: CompiledRoute): boolean {
  return route.forward !== undefined && (route.delivery === 'async' || route.delivery === 'hybrid');
}

/** `runtime`: the running relay's parsing workers and metrics; `try` and `test` run steps inline. */
export function compileRoutes(config: Config, runtime?: TransformRuntime): CompiledRoute[] {
  // Routes asking the same token endpoint for the same client, scope and audience share a token.
  const tokens = new TokenSources();
  return config.routes.map((route) => compileRoute(route, config.defaults, tokens, runtime));
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

function compileRoute(
  route: RouteConfig,
  defaults: Config['defaults'],
  tokens: TokenSources,
  runtime: TransformRuntime | undefined,
): CompiledRoute {
  const path = parseRoutePath(route.path);
  const retry = { ...defaults.retry, ...route.retry };
  let forward: CompiledForward | undefined;
  if (route.forward) {
    const f = route.forward;
    forward = {
      template: parseUrlTemplate(f.url, path.params, path.prefix),
      method: f.method,
      headers: lower(f.headers),
      passHeaders: f.passHeaders ? new Set(f.passHeaders.map((h) => h.toLowerCase())) : undefined,
      passQuery: f.passQuery,
      auth: f.auth ? authRegistry.create(f.auth, { routeId: route.id, tokens }) : undefined,
      sign: (f.sign ?? []).map((config) => signerRegistry.create(config)),
      tls: f.tls ? compileTls(f.tls) : undefined,
      followRedirects: f.followRedirects,
      consumedHeaders: new Set(
        (route.verify ?? []).flatMap((v) =>
          v.type === 'apiKey' && v.header ? [v.header.toLowerCase()] : [],
        ),
      ),
      consumedQuery: new Set(
        (route.verify ?? []).flatMap((v) => (v.type === 'apiKey' && v.query ? [v.query] : [])),
      ),
    };
  }
  let respond: CompiledRespond | undefined;
  if (route.respond) {
    const headers = lower(route.respond.headers);
    if (route.respond.contentType) headers['content-type'] = route.respond.contentType;
    const body = route.respond.body?.replaceAll('{requestId}', '{{ requestId }}');
    respond = {
      status: route.respond.status,
      headers,
      body: body === undefined ? undefined : compileTemplate(body),
    };
  }
  return {
    id: route.id,
    path,
    methods: route.methods,
    forward,
    echo: route.echo === true,
    verify: compileVerifiers(route.id, route.verify ?? []),
    respond,
    delivery: route.delivery,
    stream: {
      idleTimeout: route.stream?.idleTimeout ?? 60_000,
      retryRefused: route.stream?.retryRefused ?? false,
    },
    hybridBudget: route.hybrid?.budget ?? 3_000,
    queue: route.queue ?? ROUTE_QUEUE_DEFAULTS,
    dedup: route.dedup
      ? {
          header: route.dedup.header?.toLowerCase(),
          field: route.dedup.field ? compileTemplate(`{{ body.${route.dedup.field} }}`) : undefined,
          windowMs: route.dedup.window,
        }
      : undefined,
    configHeaders: configHeaders(route),
    transform: compileSteps(route.id, route.transform ?? [], 'transform', runtime),
    responseTransform: compileSteps(route.id, route.response?.transform ?? [], 'response.transform', runtime),
    timeouts: { ...defaults.timeouts, ...route.timeouts },
    retry: { ...retry, retryOn: statusMatcher(retry.retryOn) },
    limits:
      route.delivery === 'stream'
        ? // The webhook-sized default does not cap a stream route: only its own limit does.
          { ...defaults.limits, body: route.limits?.body ?? Number.POSITIVE_INFINITY }
        : { ...defaults.limits, ...route.limits },
  };
}

function configHeaders(route: RouteConfig): Record<string, string> {
  const out = lower(route.forward?.headers);
  for (const step of route.transform ?? []) {
    if (step.type !== 'headers') continue;
    const edits = staticHeaderEdits(step as HeadersConfig);
    for (const name of edits.dynamic) delete out[name];
    Object.assign(out, edits.set);
    for (const name of edits.remove) delete out[name];
  }
  return out;
}

function compileSteps(
  routeId: string,
  steps: readonly TransformConfig[],
  list: 'transform' | 'response.transform',
  runtime: TransformRuntime | undefined,
): CompiledStep[] {
  // Nothing was sent before a request step: it may be refused when the workers are saturated.
  const stepRuntime = runtime && { ...runtime, refuseWhenBusy: list === 'transform' };
  return steps.map((config, index) => {
    const info: StepInfo = {
      routeId,
      index,
      name: `${list}[${index}] (${config.type})`,
      runtime: stepRuntime,
    };
    return { info, step: transformRegistry.create(config, info) };
  });
}

/** Bounded metric label for a step: `1-map`, `response-0-xml`. */
export function stepLabel(info: StepInfo): string {
  return `${info.name.startsWith('response') ? 'response-' : ''}${info.index}-${info.name.slice(info.name.indexOf('(') + 1, -1)}`;
}

function compileVerifiers(routeId: string, configs: readonly VerifierConfig[]): CompiledVerifier[] {
  return configs.map((config, index) => {
    const info: VerifierInfo = { routeId, index, name: `verify[${index}] (${config.type})` };
    return { info, type: config.type, verifier: verifierRegistry.create(config, info) };
  });
}
