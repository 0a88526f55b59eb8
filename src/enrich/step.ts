/**
 * The `fetch` transform step: the payload so far (a JSON object), the lookup URL rendered from
 * it and the request, the lookup made (or, in `try` and `test`, previewed or answered by the
 * case's fixture), and its answer put under `into`; or the call ended with the step's code, or
 * with an answer `answers` configures. Every lookup is counted and timed by outcome; a failed one
 * has a warn line naming the URL template (never the query values or credentials).
 */
import { authRegistry } from '../auth/index.ts';
import type { TokenSources } from '../auth/token-cache.ts';
import { HookrelayError } from '../core/errors.ts';
import { isJsonObject, setOwn } from '../core/json.ts';
import { DEFAULT_JSON_DEPTH } from '../core/json-depth.ts';
import type { OutboundRequest } from '../core/message.ts';
import { SNIPPET_BYTES, type TargetResponse } from '../delivery/attempt.ts';
import { Clients } from '../delivery/client.ts';
import { statusMatcher } from '../delivery/policy.ts';
import { compileTls } from '../delivery/tls.ts';
import type { Logger } from '../telemetry/log.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { failed } from '../transforms/errors.ts';
import { payloadValue } from '../transforms/payload.ts';
import { stepLabel } from '../transforms/run.ts';
import type { LookupFixture, StepInfo, TransformContext, TransformStep } from '../transforms/types.ts';
import { type LookupPlan, lookup } from './call.ts';
import { Answers, FetchAnswered, FetchPreview } from './outcomes.ts';
import { readAnswer, xmlReaderFor } from './read.ts';
import type { FetchConfig } from './schema.ts';
import { parseLookupUrl, renderLookupUrl } from './url.ts';

/** What the running relay lends a `fetch` step: its keep-alive pools, metrics and log. */
export interface EnrichRuntime {
  clients?: Clients | undefined;
  metrics?: Pick<Metrics, 'fetchRequests' | 'fetchDuration' | 'authTokenRequests'> | undefined;
  logger?: Logger | undefined;
}

/** The statuses a lookup retries, as the delivery policy's default list does for them. */
const RETRIED = statusMatcher([429, 502, 503, 504]);

const ACCEPT = {
  auto: 'application/json, application/xml;q=0.9, text/*;q=0.5',
  json: 'application/json',
  xml: 'application/xml, text/xml',
  text: 'text/*',
} as const;

type Outcome =
  | 'ok'
  | 'answered'
  | 'status'
  | 'unreachable'
  | 'timeout'
  | 'too_large'
  | 'malformed'
  | 'auth'
  | 'missing_value'
  | 'invalid_value';

const OUTCOMES: Partial<Record<string, Outcome>> = {
  HOOKRELAY_ERR_FETCH_MISSING_VALUE: 'missing_value',
  HOOKRELAY_ERR_INVALID_PARAMETER: 'invalid_value',
  HOOKRELAY_ERR_TRANSFORM_FAILED: 'invalid_value',
  HOOKRELAY_ERR_FETCH_UNREACHABLE: 'unreachable',
  HOOKRELAY_ERR_FETCH_TIMEOUT: 'timeout',
  HOOKRELAY_ERR_FETCH_STATUS: 'status',
  HOOKRELAY_ERR_FETCH_FAILED: 'status',
  HOOKRELAY_ERR_FETCH_TOO_LARGE: 'too_large',
  HOOKRELAY_ERR_FETCH_MALFORMED: 'malformed',
  HOOKRELAY_ERR_AUTH_TOKEN: 'auth',
};

export function createFetchStep(
  config: FetchConfig,
  info: StepInfo,
  runtime: EnrichRuntime = {},
  tokens?: TokenSources,
): TransformStep {
  const step = info.name;
  const url = parseLookupUrl(config.url);
  const auth = config.auth ? authRegistry.create(config.auth, { routeId: info.routeId, tokens }) : undefined;
  const tls = config.tls ? compileTls(config.tls) : undefined;
  const headers: Record<string, string> = { accept: ACCEPT[config.parse] };
  for (const [name, value] of Object.entries(config.headers ?? {})) headers[name.toLowerCase()] = value;
  const answers = new Answers(config.answers);
  const readXml = xmlReaderFor(step);
  const plan: LookupPlan = {
    step,
    routeId: info.routeId,
    auth,
    timeout: config.timeout,
    maxResponse: config.maxResponse,
    policy: {
      attempts: config.retry.attempts,
      minDelay: config.retry.minDelay,
      maxDelay: config.retry.maxDelay,
      maxRetryAfter: config.retry.maxDelay,
      factor: 2,
      jitter: true,
      retryOn: RETRIED,
    },
    authMetrics: runtime.metrics,
  };
  const labels = { route: info.routeId, step: stepLabel(info) };

  /** The answer for this call: from the API, or from a `hookrelay test` fixture. */
  async function answerFor(ctx: TransformContext, request: OutboundRequest) {
    const mode = ctx.lookups ?? { kind: 'live' as const };
    if (mode.kind === 'preview') throw new FetchPreview(info, request, auth, 'preview', config.into);
    if (mode.kind === 'fixtures') {
      const fixture = mode.fixtures[config.into];
      if (!fixture) throw new FetchPreview(info, request, auth, 'fixture', config.into);
      return { response: fixtureResponse(fixture, config.maxResponse), attempts: 1 };
    }
    const own = runtime.clients ? undefined : new Clients({ connections: 1 });
    const pool = (runtime.clients ?? own)!.get(url.origin, config.timeout, tls);
    try {
      return await lookup(pool, request, plan, ctx.trace);
    } finally {
      await own?.close();
    }
  }

  /** The payload as a JSON object, or the transform error codes (not a lookup: not counted as one). */
  function objectOf(ctx: TransformContext): Record<string, unknown> {
    const value = payloadValue(ctx, step);
    if (!isJsonObject(value)) {
      throw failed(
        step,
        `the payload must be a JSON object to put the lookup's answer under '${config.into}'`,
      );
    }
    return value;
  }

  async function run(ctx: TransformContext, value: Record<string, unknown>): Promise<Outcome> {
    const request: OutboundRequest = {
      method: config.method,
      url: renderLookupUrl(url, step, value, ctx.message),
      headers: { ...headers },
      body: undefined,
    };
    const { response, attempts } = await answerFor(ctx, request);
    const depth = ctx.jsonDepth ?? DEFAULT_JSON_DEPTH;
    const { status } = response;
    if (status >= 200 && status < 300) {
      if (response.truncated) {
        throw new HookrelayError('HOOKRELAY_ERR_FETCH_TOO_LARGE', {
          step,
          status,
          limit: config.maxResponse,
        });
      }
      setOwn(value, config.into, readAnswer(response, config.parse, step, depth, readXml));
      ctx.payload = { kind: 'value', value };
      return 'ok';
    }
    if (answers.covers(status)) {
      let read: unknown;
      try {
        read = readAnswer(response, config.parse, step, depth, readXml);
      } catch {
        // An error page the API did not label right: its text, for the answer to quote.
        read = response.body.toString('utf8');
      }
      const scope = { ...value };
      setOwn(scope, config.into, read);
      const answer = answers.render(status, ctx.message, scope)!;
      throw new FetchAnswered(step, status, { ...answer, fields: { step, lookupStatus: status } });
    }
    if (RETRIED(status)) throw new HookrelayError('HOOKRELAY_ERR_FETCH_FAILED', { step, status, attempts });
    throw new HookrelayError('HOOKRELAY_ERR_FETCH_STATUS', { step, status });
  }

  return {
    async run(ctx) {
      const value = objectOf(ctx);
      const started = performance.now();
      let outcome: Outcome;
      try {
        outcome = await run(ctx, value);
      } catch (error) {
        if (error instanceof FetchPreview) throw error;
        outcome =
          error instanceof FetchAnswered
            ? 'answered'
            : (error instanceof HookrelayError && OUTCOMES[error.code]) || 'invalid_value';
        report(ctx, outcome, error, started);
        throw error;
      }
      report(ctx, outcome, undefined, started);
    },
  };

  function report(ctx: TransformContext, outcome: Outcome, error: unknown, started: number): void {
    if (ctx.lookups && ctx.lookups.kind !== 'live') return;
    runtime.metrics?.fetchRequests.inc({ ...labels, outcome });
    runtime.metrics?.fetchDuration.observe({ ...labels, outcome }, (performance.now() - started) / 1000);
    if (error === undefined || !runtime.logger) return;
    const fields = {
      route: info.routeId,
      step,
      requestId: ctx.message.requestId,
      outcome,
      // The template, not the URL: no caller value, no query credential.
      lookup: url.shown,
      ...(error instanceof HookrelayError
        ? {
            code: error.code,
            ...(typeof error.params.status === 'number' ? { status: error.params.status } : {}),
          }
        : {}),
    };
    if (outcome === 'answered') runtime.logger.info(fields, 'fetch answered by the route');
    else
      runtime.logger.warn(
        { ...fields, reason: error instanceof Error ? error.message : String(error) },
        'fetch failed',
      );
  }
}

function fixtureResponse(fixture: LookupFixture, limit: number): TargetResponse {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(fixture.headers ?? {})) headers[name.toLowerCase()] = value;
  const json = fixture.json !== undefined;
  const contentType = fixture.contentType ?? (json ? 'application/json' : undefined);
  if (contentType !== undefined) headers['content-type'] = contentType;
  const body = Buffer.from(json ? JSON.stringify(fixture.json) : (fixture.body ?? ''));
  if (body.length > limit)
    return { status: fixture.status, headers, body: body.subarray(0, SNIPPET_BYTES), truncated: true };
  return { status: fixture.status, headers, body };
}
