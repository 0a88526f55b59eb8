/**
 * `hookrelay try` and `hookrelay test` on a fan-out route (docs/routing.md#fan-out): which targets
 * the call would go to (a rule's `target:`, else every target whose `when` holds) and the request
 * each would get, through the relay's own choice and preparation (modes/fanout/). Nothing is sent.
 */
import type { InboundMessage } from '../core/message.ts';
import type { SecretValues } from '../core/secret-values.ts';
import { chooseTargets } from '../modes/fanout/choose.ts';
import { prepareTarget } from '../modes/fanout/prepare.ts';
import type { Fanout } from '../modes/fanout/targets.ts';
import type { Prepared } from '../pipeline/prepare.ts';
import type { BufferedRoute } from '../pipeline/route.ts';
import { type Authorised, authorise, shown } from '../present/redact.ts';
import { type Answer, renderJson, renderText } from '../present/render.ts';

export interface TargetRun {
  name: string;
  /** How the relay sends it: `answers` the caller (a sync route's), or `queued` (its own delivery). */
  role: 'answers' | 'queued';
  /** Its delivery route id when queued: `<route>/<target>`. */
  routeId: string;
  prepared: Prepared;
  authorised: Authorised;
}

/** The chosen targets' requests, in the order of the list; empty when none is chosen. */
export async function dryRunTargets(
  route: BufferedRoute & { fanout: Fanout },
  message: InboundMessage,
  prepared: Prepared,
  requestIdHeader: string,
): Promise<TargetRun[]> {
  // A rule's `target:` is in `prepared` already (prepareOutbound checks the rules).
  const ruled = prepared;
  const chosen = await chooseTargets(route, route.fanout, message, ruled);
  const primary = route.fanout.targets[route.fanout.primary];
  const answering = route.delivery === 'sync' ? (chosen.find((t) => t === primary) ?? chosen[0]) : undefined;
  return Promise.all(
    chosen.map(async (target): Promise<TargetRun> => {
      const own = await prepareTarget(target, message, ruled, requestIdHeader);
      const { forward } = target.queued;
      const role = target === answering ? 'answers' : 'queued';
      // An answering target signs the request id as the message id, a queued one its delivery id.
      const id = role === 'answers' ? message.requestId : `<delivery id of ${target.queued.id}>`;
      const authorised = await authorise(own.outbound, forward.auth, { sign: forward.sign, id });
      return { name: target.name, role, routeId: target.queued.id, prepared: own, authorised };
    }),
  );
}

/**
 * `try`'s output for a fan-out route: each chosen target's request under a `# target NAME` line
 * (text), or `{ "targets": [{ name, role, routeId, method, url, headers, body, bodyEncoding }] }`.
 */
export function renderTargets(
  targets: readonly TargetRun[],
  answer: Answer | undefined,
  json: boolean,
  secrets: SecretValues,
): string {
  if (json) {
    const list = targets.map((t) => ({
      name: t.name,
      role: t.role,
      routeId: t.routeId,
      ...(JSON.parse(renderJson(shown(t.authorised, secrets), t.authorised.request.body)) as object),
    }));
    return `${JSON.stringify({ targets: list })}\n`;
  }
  if (targets.length === 0) {
    return '# no target matched: the caller gets 200 {"status":"dropped","reason":"no target matched"}; nothing is forwarded\n';
  }
  return targets
    .map((t, i) => {
      const role =
        t.role === 'answers' ? 'answers the caller' : `queued, as a delivery of route ${t.routeId}`;
      const last = i === targets.length - 1 ? answer : undefined;
      const request = renderText(shown(t.authorised, secrets), t.authorised.request.body, last);
      return `# target ${t.name} (${role})\n${request}`;
    })
    .join('\n');
}
