/**
 * Turns the validated config into runtime routes once, at start: templates parsed, header maps
 * lower-cased, auth headers pre-built, retry status lists turned into a lookup. What every route
 * shares is compiled here (pipeline/route.ts `RouteParts`); the route's delivery mode (modes/)
 * keeps what applies to it and adds its own options. The request path reads these and never
 * re-parses configuration.
 */
import { authRegistry } from '../auth/index.ts';
import { TokenSources } from '../auth/token-cache.ts';
import { parseRoutePath, type RoutePath } from '../core/route-path.ts';
import { compileTemplate } from '../core/text-template.ts';
import { statusMatcher } from '../delivery/policy.ts';
import { compileTls } from '../delivery/tls.ts';
import { createFetchStep, type EnrichRuntime } from '../enrich/index.ts';
import { handshakeRegistry } from '../handshakes/index.ts';
import type { AsyncRoute } from '../modes/async/index.ts';
import type { EchoRoute } from '../modes/echo/index.ts';
import type { HybridRoute } from '../modes/hybrid/index.ts';
import { modeOf } from '../modes/index.ts';
import type { StreamRoute } from '../modes/stream/index.ts';
import type { SyncRoute } from '../modes/sync/index.ts';
import type { RouteInput } from '../modes/types.ts';
import { compileCondition } from '../pipeline/conditions.ts';
import type { CompiledFailureAnswer } from '../pipeline/failure-answer.ts';
import type {
  CompiledForward,
  CompiledRespond,
  CompiledRule,
  CompiledVerifier,
  RouteParts,
  RuleAction,
  TargetParts,
} from '../pipeline/route.ts';
import { parseUrlTemplate } from '../pipeline/url-template.ts';
import { signerRegistry } from '../signers/index.ts';
import { type HeadersConfig, staticHeaderEdits } from '../transforms/headers.ts';
import { transformRegistry } from '../transforms/index.ts';
import type { CompiledStep } from '../transforms/run.ts';
import type { StepInfo, TransformRuntime } from '../transforms/types.ts';
import { type VerifierConfig, verifierRegistry } from '../verifiers/index.ts';
import type { VerifierInfo } from '../verifiers/types.ts';
import type { FailureAnswerConfig } from './on-error-schema.ts';
import type { StepConfig } from './route-schema.ts';
import type { RuleConfig } from './rules-schema.ts';
import type { Config, RouteConfig } from './schema.ts';

export type { CompiledForward, CompiledRespond, CompiledVerifier } from '../pipeline/route.ts';

/** A route at run time: one of the delivery modes' route types. */
export type CompiledRoute = SyncRoute | AsyncRoute | HybridRoute | StreamRoute | EchoRoute;

/** What the running relay lends the steps: parsing workers, metrics, and for `fetch` its pools and log. */
export type CompileRuntime = TransformRuntime & EnrichRuntime;

/** `runtime`: the running relay's resources; `try` and `test` run steps inline, lookups on their own. */
export function compileRoutes(config: Config, runtime?: CompileRuntime): CompiledRoute[] {
  // Routes asking the same token endpoint for the same client, scope and audience share a token.
  const tokens = new TokenSources();
  return config.routes.map((route) => {
    const parts = compileParts(route, config.defaults, tokens, runtime);
    const mode = modeOf(route.echo ? 'echo' : route.delivery);
    return mode.compile(parts, route as unknown as RouteInput) as CompiledRoute;
  });
}

function lower(map: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(map ?? {})) out[k.toLowerCase()] = v;
  return out;
}

/** What every route compiles to, whatever its mode (pipeline/route.ts). */
function compileParts(
  route: RouteConfig,
  defaults: Config['defaults'],
  tokens: TokenSources,
  runtime: CompileRuntime | undefined,
): RouteParts {
  const path = parseRoutePath(route.path);
  const retry = { ...defaults.retry, ...route.retry };
  const forward = route.forward ? compileForward(route.forward, route, path, route.id, tokens) : undefined;
  const targets = route.targets?.map((target): TargetParts => {
    const steps = compileSteps(
      route.id,
      target.transform ?? [],
      `targets[${target.name}].transform`,
      runtime,
      tokens,
    );
    const own = { ...retry, ...target.retry };
    return {
      name: target.name,
      // Its own token source key: a target may use other credentials than its siblings.
      forward: compileForward(target.forward, route, path, `${route.id}/${target.name}`, tokens),
      transform: steps,
      configHeaders: configHeaders(target.forward.headers, [
        ...(route.transform ?? []),
        ...(target.transform ?? []),
      ]),
      when: target.when ? compileCondition(target.when) : undefined,
      retry: { ...own, retryOn: statusMatcher(own.retryOn) },
      queue: target.queue,
      primary: target.primary === true,
    };
  });
  const respond = route.respond ? compileRespond(route.respond) : undefined;
  return {
    id: route.id,
    path,
    methods: route.methods,
    forward,
    targets,
    verify: compileVerifiers(route.id, route.verify ?? []),
    handshake: route.handshake && {
      type: route.handshake.type,
      handshake: handshakeRegistry.create(route.handshake),
      jsonDepth: { ...defaults.limits, ...route.limits }.jsonDepth,
    },
    respond,
    rules: (route.rules ?? []).map(compileRule),
    rulesAt: rulesAt(route.transform ?? []),
    onError: (route.onError ?? []).map(compileFailureAnswer),
    configHeaders: configHeaders(route.forward?.headers, route.transform ?? []),
    transform: compileSteps(route.id, route.transform ?? [], 'transform', runtime, tokens),
    responseTransform: compileSteps(
      route.id,
      route.response?.transform ?? [],
      'response.transform',
      runtime,
      tokens,
    ),
    timeouts: { ...defaults.timeouts, ...route.timeouts },
    retry: { ...retry, retryOn: statusMatcher(retry.retryOn) },
    limits: { ...defaults.limits, ...route.limits },
  };
}

interface RespondConfig {
  status: number;
  headers?: Record<string, string> | undefined;
  contentType?: string | undefined;
  body?: string | undefined;
}

function compileRespond(config: RespondConfig): CompiledRespond {
  const headers = lower(config.headers);
  if (config.contentType) headers['content-type'] = config.contentType;
  const body = config.body?.replaceAll('{requestId}', '{{ requestId }}');
  return { status: config.status, headers, body: body === undefined ? undefined : compileTemplate(body) };
}

function compileFailureAnswer(config: FailureAnswerConfig): CompiledFailureAnswer {
  const headers = lower(config.headers);
  if (config.contentType) headers['content-type'] = config.contentType;
  return {
    codes: config.codes ? new Set(config.codes) : undefined,
    statuses: config.statuses ? statusMatcher(config.statuses) : undefined,
    fromTarget: config.fromTarget,
    status: config.status,
    headers,
    body: config.body === undefined ? undefined : compileTemplate(config.body, { failure: true }),
  };
}

/** The steps that parse the body (`xml`, `form`) run before the rules, which read their value. */
export const PARSING_STEPS: readonly string[] = ['xml', 'form'];

function rulesAt(steps: readonly StepConfig[]): number {
  const first = steps.findIndex((step) => !PARSING_STEPS.includes(step.type));
  return first === -1 ? steps.length : first;
}

function compileRule(rule: RuleConfig): CompiledRule {
  const when = rule.when ? compileCondition(rule.when) : undefined;
  let action: RuleAction;
  if (rule.answer) action = { kind: 'answer', respond: compileRespond(rule.answer) };
  else if (rule.refuse) action = { kind: 'refuse', status: rule.refuse.status, message: rule.refuse.message };
  else if (rule.drop) action = { kind: 'drop', status: rule.drop === true ? 200 : rule.drop.status };
  // The schema admits exactly one action per rule.
  else action = { kind: 'target', target: rule.target! };
  return { name: rule.name, when, action };
}

function configHeaders(
  forwardHeaders: Record<string, string> | undefined,
  steps: readonly StepConfig[],
): Record<string, string> {
  const out = lower(forwardHeaders);
  for (const step of steps) {
    if (step.type !== 'headers') continue;
    const edits = staticHeaderEdits(step as HeadersConfig);
    for (const name of edits.dynamic) delete out[name];
    Object.assign(out, edits.set);
    for (const name of edits.remove) delete out[name];
  }
  return out;
}

type ForwardConfig = NonNullable<RouteConfig['forward']>;

/** A `forward` block, the route's or a target's; `authId` keys its token source. */
function compileForward(
  f: ForwardConfig,
  route: RouteConfig,
  path: RoutePath,
  authId: string,
  tokens: TokenSources,
): CompiledForward {
  return {
    template: parseUrlTemplate(f.url, path.params, path.prefix),
    method: f.method,
    headers: lower(f.headers),
    passHeaders: f.passHeaders ? new Set(f.passHeaders.map((h) => h.toLowerCase())) : undefined,
    passQuery: f.passQuery,
    auth: f.auth ? authRegistry.create(f.auth, { routeId: authId, tokens }) : undefined,
    sign: (f.sign ?? []).map((config) => signerRegistry.create(config)),
    tls: f.tls ? compileTls(f.tls) : undefined,
    followRedirects: f.followRedirects,
    consumedHeaders: new Set(
      (route.verify ?? []).flatMap((v) => (v.type === 'apiKey' && v.header ? [v.header.toLowerCase()] : [])),
    ),
    consumedQuery: new Set(
      (route.verify ?? []).flatMap((v) => (v.type === 'apiKey' && v.query ? [v.query] : [])),
    ),
  };
}

function compileSteps(
  routeId: string,
  steps: readonly StepConfig[],
  list: 'transform' | 'response.transform' | `targets[${string}].transform`,
  runtime: CompileRuntime | undefined,
  tokens: TokenSources,
): CompiledStep[] {
  // Nothing was sent before a request step: it may be refused when the workers are saturated.
  const stepRuntime = runtime && {
    pool: runtime.pool,
    metrics: runtime.metrics,
    refuseWhenBusy: list === 'transform',
  };
  return steps.map((config, index) => {
    const info: StepInfo = {
      routeId,
      index,
      name: `${list}[${index}] (${config.type})`,
      runtime: stepRuntime,
    };
    // `fetch` is no plugin (it needs auth and the HTTP client, src/enrich/); a lookup shares the
    // routes' OAuth2 tokens (same endpoint, client, scope: one token) and the relay's pools.
    const step =
      config.type === 'fetch'
        ? createFetchStep(config, info, runtime, tokens)
        : transformRegistry.create(config, info);
    return { info, step };
  });
}

function compileVerifiers(routeId: string, configs: readonly VerifierConfig[]): CompiledVerifier[] {
  return configs.map((config, index) => {
    const info: VerifierInfo = { routeId, index, name: `verify[${index}] (${config.type})` };
    return { info, type: config.type, verifier: verifierRegistry.create(config, info) };
  });
}
