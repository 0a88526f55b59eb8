/**
 * The prepare stage's work: the route's request transforms, then the outbound request, and the
 * template scope `respond` and `dedup` read. Shared with `hookrelay try` and `hookrelay test`, so
 * what they show is what would be sent.
 */
import { parseJsonText } from '../core/json.ts';
import { DEFAULT_JSON_DEPTH } from '../core/json-depth.ts';
import type { InboundMessage, OutboundRequest } from '../core/message.ts';
import { requestScope, type TemplateScope } from '../core/text-template.ts';
import { isForm, isJson } from '../transforms/payload.ts';
import { runTransforms, type TransformResult } from '../transforms/run.ts';
import { buildOutbound } from './outbound.ts';
import type { BufferedRoute } from './route.ts';

export interface Prepared {
  outbound: OutboundRequest;
  /** The structured body the transform steps produced, for `respond` templates. */
  value: unknown;
  /** The one target a rule chose (`target`); undefined: the route's targets as configured. */
  target?: string | undefined;
  /** What the route's steps produced (undefined: none ran), where a fan-out target's steps go on. */
  transformed?: TransformResult | undefined;
}

/**
 * Runs the route's request transform steps and builds the request for the target. Shared by the
 * relay, `hookrelay try` and `hookrelay test`, so what they show is what would be sent.
 * Throws StepError (from runTransforms) when a step refuses the body.
 */
export async function prepareOutbound(
  route: BufferedRoute,
  message: InboundMessage,
  requestIdHeader: string,
): Promise<Prepared> {
  const forward = route.forward;
  if (route.transform.length === 0) {
    return { outbound: buildOutbound(forward, message, requestIdHeader), value: undefined };
  }
  const payload = {
    kind: 'bytes' as const,
    bytes: message.body,
    contentType: header(message, 'content-type'),
  };
  const result = await runTransforms(route.transform, message, payload, route.limits);
  const outbound = buildOutbound(forward, message, requestIdHeader, result);
  return { outbound, value: result.value, transformed: result };
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
