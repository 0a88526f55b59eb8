/**
 * The rules stage (docs/routing.md#rules): the route's rules in order over the verified call, the
 * body as the transform steps left it; the first whose condition holds acts. `answer`, `refuse`
 * and `drop` end the call here, forwarding nothing; `target` lets it go on to that target only.
 * Shared with `hookrelay try` and `hookrelay test` (`evaluateRules`), so they report the rule the
 * relay would apply.
 */
import { HookrelayError } from '../core/errors.ts';
import type { InboundMessage } from '../core/message.ts';
import { ConditionError } from './conditions.ts';
import { templateScope } from './prepare.ts';
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
  const scope = templateScope(message, value, route.limits.jsonDepth);
  for (const rule of route.rules) {
    let matched: boolean;
    try {
      matched = rule.when === undefined || (await rule.when.test(scope));
    } catch (error) {
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
