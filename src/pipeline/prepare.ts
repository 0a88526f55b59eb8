/**
 * The prepare stage's work: the route's request transforms, then the outbound request, and the
 * template scope `respond` and `dedup` read. Shared with `hookrelay try` and `hookrelay test`, so
 * what they show is what would be sent.
 */
import { parseJsonText } from '../core/json.ts';
import { DEFAULT_JSON_DEPTH } from '../core/json-depth.ts';
import type { InboundMessage, OutboundRequest } from '../core/message.ts';
import { requestScope, type TemplateScope } from '../core/text-template.ts';
import type { TraceParent } from '../core/tracing.ts';
import { isForm, isJson } from '../transforms/payload.ts';
import { runTransforms, type TransformResult } from '../transforms/run.ts';
import type { Lookups, TransformContext } from '../transforms/types.ts';
import { buildOutbound } from './outbound.ts';
import type { BufferedRoute } from './route.ts';
import { evaluateRules, type RuleOutcome } from './rules.ts';

export interface Prepared {
  outbound: OutboundRequest;
  /** The structured body the transform steps produced, for `respond` templates. */
  value: unknown;
  /** The rule that matched and let the call go on (its action: `target`). */
  rule?: string | undefined;
  /** The one target a rule chose (`target`); undefined: the route's targets as configured. */
  target?: string | undefined;
  /** What the route's steps produced (undefined: none ran), where a fan-out target's steps go on. */
  transformed?: TransformResult | undefined;
}

/**
 * A rule answered, refused or dropped the call (or failed): the transform stopped where the rules
 * are checked and nothing is forwarded. Thrown by prepareOutbound; the prepare stage answers it.
 */
export class RulesHalt extends Error {
  readonly outcome: Exclude<RuleOutcome, { kind: 'none' } | { kind: 'target' }>;
  constructor(outcome: Exclude<RuleOutcome, { kind: 'none' } | { kind: 'target' }>) {
    super(`rule '${outcome.rule}': ${outcome.kind}`);
    this.outcome = outcome;
  }
}

/**
 * Runs the route's request transform steps and builds the request for the target. Shared by the
 * relay, `hookrelay try` and `hookrelay test`, so what they show is what would be sent.
 * Throws StepError (from runTransforms) when a step refuses the body. `lookups` says how `fetch`
 * steps make their call (`try` previews them, `test` answers them from its fixtures); `trace`,
 * where each step's span goes (tracing on).
 */
export async function prepareOutbound(
  route: BufferedRoute,
  message: InboundMessage,
  requestIdHeader: string,
  lookups?: Lookups,
  trace?: TraceParent,
): Promise<Prepared> {
  const forward = route.forward;
  let chosen: Extract<RuleOutcome, { kind: 'target' }> | undefined;
  // The rules are checked where the route's parsing steps end (route.rulesAt), on their value.
  const checkRules = async (value: unknown) => {
    const outcome = await evaluateRules(route, message, value);
    if (outcome.kind === 'target') chosen = outcome;
    else if (outcome.kind !== 'none') throw new RulesHalt(outcome);
  };
  if (route.transform.length === 0) {
    if (route.rules.length > 0) await checkRules(undefined);
    return ruled({ outbound: buildOutbound(forward, message, requestIdHeader), value: undefined }, chosen);
  }
  const payload = {
    kind: 'bytes' as const,
    bytes: message.body,
    contentType: header(message, 'content-type'),
  };
  const checkpoint =
    route.rules.length > 0
      ? {
          at: route.rulesAt,
          run: (ctx: TransformContext) =>
            checkRules(ctx.payload.kind === 'value' ? ctx.payload.value : undefined),
        }
      : undefined;
  const result = await runTransforms(route.transform, message, payload, route.limits, {
    lookups,
    checkpoint,
    trace,
  });
  const outbound = buildOutbound(forward, message, requestIdHeader, result);
  return ruled({ outbound, value: result.value, transformed: result }, chosen);
}

function ruled(prepared: Prepared, chosen: Extract<RuleOutcome, { kind: 'target' }> | undefined): Prepared {
  if (chosen) {
    prepared.rule = chosen.rule;
    prepared.target = chosen.target;
  }
  return prepared;
}

function header(message: InboundMessage, name: string): string | undefined {
  const value = message.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The scope `{{ … }}` templates read (`respond.body`, the `dedup.field` key): the request, and
 * its body parsed on first use (when it is JSON nested no deeper than `jsonDepth`, the route's
 * `limits.jsonDepth`), numbers as the caller wrote them.
 */
export function templateScope(
  message: InboundMessage,
  value: unknown,
  jsonDepth = DEFAULT_JSON_DEPTH,
): TemplateScope {
  return requestScope(message, () => (value !== undefined ? value : parseInbound(message, jsonDepth)));
}

function parseInbound(message: InboundMessage, jsonDepth: number): unknown {
  const type = header(message, 'content-type');
  try {
    if (isForm(type)) return Object.fromEntries(new URLSearchParams(message.body.toString('utf8')));
    if ((isJson(type) || type === undefined) && message.body.length) {
      return parseJsonText(message.body.toString('utf8'), jsonDepth);
    }
  } catch {
    // A template over an unparsable body, or one too deep to render safely (JSON.stringify
    // recurses), renders empty values rather than failing the answer.
  }
  return undefined;
}
