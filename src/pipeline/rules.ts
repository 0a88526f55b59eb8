/**
 * The rules stage (docs/routing.md#rules): the route's rules in order over the verified call, the
 * body as the transform steps left it; the first whose condition holds acts. `answer`, `refuse`
 * and `drop` end the call here, forwarding nothing; `target` lets it go on to that target only.
 * Shared with `hookrelay try` and `hookrelay test` (`evaluateRules`), so they report the rule the
 * relay would apply.
 */
import { HookrelayError } from '../core/errors.ts';
import type { InboundMessage } from '../core/message.ts';
import { requestScope } from '../core/text-template.ts';
import { unsupported } from '../transforms/errors.ts';
import { isForm, isJson, parseJson } from '../transforms/payload.ts';
import { ConditionError } from './conditions.ts';
import { renderRespond } from './respond.ts';
import type { BufferedRoute, CompiledRule } from './route.ts';

/** What the rules decided for a call. */
export type RuleOutcome =
  | { kind: 'none' }
  | { kind: 'answer'; rule: string; status: number; headers: Record<string, string>; body: string }
  | { kind: 'refuse'; rule: string; error: HookrelayError }
  | { kind: 'drop'; rule: string; status: number; body: string; headers: Record<string, string> }
  | { kind: 'target'; rule: string; target: string }
  | { kind: 'failed'; rule: string; error: HookrelayError };

const NONE: RuleOutcome = { kind: 'none' };

/** The first rule that matches `message` (its body: `value`, else the inbound body parsed), and what it does. */
export async function evaluateRules(
  route: BufferedRoute,
  message: InboundMessage,
  value: unknown,
): Promise<RuleOutcome> {
  let reading = '';
  const scope = requestScope(message, () =>
    value !== undefined ? value : ruleBody(message, reading, route.limits.jsonDepth),
  );
  for (const [index, rule] of route.rules.entries()) {
    let matched: boolean;
    reading = `rules[${index}] (${rule.name})`;
    try {
      matched = rule.when === undefined || (await rule.when.test(scope));
    } catch (error) {
      // A body the rule cannot read fails as a transform step would (400, 413, 415).
      if (error instanceof HookrelayError) return { kind: 'failed', rule: rule.name, error };
      if (!(error instanceof ConditionError)) throw error;
      return {
        kind: 'failed',
        rule: rule.name,
        error: new HookrelayError('HOOKRELAY_ERR_RULE_FAILED', { rule: rule.name, reason: error.message }),
      };
    }
    if (matched) return act(route, rule, message, value);
  }
  return NONE;
}

/**
 * The inbound body as a rule reads it when no transform step made it a value: empty is nothing
 * (every field missing), JSON and forms are parsed; anything else cannot be read by a condition on
 * `body` and is refused with the transform steps' codes (malformed JSON 400, other types 415).
 */
function ruleBody(message: InboundMessage, rule: string, jsonDepth: number): unknown {
  if (message.body.length === 0) return undefined;
  const type = message.headers['content-type'];
  const contentType = Array.isArray(type) ? type[0] : type;
  if (isForm(contentType)) return Object.fromEntries(new URLSearchParams(message.body.toString('utf8')));
  if (isJson(contentType) || !contentType) return parseJson(message.body, rule, jsonDepth);
  throw unsupported(
    rule,
    contentType,
    'a JSON or form body, or an `xml` step in `transform` for the rules to read',
  );
}

function act(route: BufferedRoute, rule: CompiledRule, message: InboundMessage, value: unknown): RuleOutcome {
  const { action } = rule;
  switch (action.kind) {
    case 'answer': {
      const r = renderRespond(action.respond, route.limits.jsonDepth, message, value, {});
      return { kind: 'answer', rule: rule.name, ...r };
    }
    case 'refuse': {
      const detail = action.message ? `: ${action.message}` : '';
      const error = new HookrelayError(
        'HOOKRELAY_ERR_RULE_REFUSED',
        { rule: rule.name, detail },
        { status: action.status },
      );
      return { kind: 'refuse', rule: rule.name, error };
    }
    case 'drop': {
      const headers: Record<string, string> = {};
      let body = '';
      if (action.status !== 204) {
        headers['content-type'] = 'application/json; charset=utf-8';
        body = JSON.stringify({
          status: 'dropped',
          route: route.id,
          rule: rule.name,
          requestId: message.requestId,
        });
      }
      return { kind: 'drop', rule: rule.name, status: action.status, headers, body };
    }
    case 'target':
      return { kind: 'target', rule: rule.name, target: action.target };
  }
}
