/**
 * The `respond` block: the answer a sender that insists on one gets once the target (or the
 * queue) took its request. One rendering for the relay's sync and queued answers and for
 * `hookrelay try`/`test`, with the route's limits.
 */
import type { InboundMessage } from '../core/message.ts';
import { renderTemplate } from '../core/text-template.ts';
import { templateScope } from './prepare.ts';
import type { CompiledRespond } from './route.ts';

export interface RenderedRespond {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * The `respond` answer to `message` (`value`: the transformed body, when there is one), its body
 * read within the route's `limits.jsonDepth`; `headers` are added to the block's own.
 */
export function renderRespond(
  respond: CompiledRespond,
  jsonDepth: number,
  message: InboundMessage,
  value: unknown,
  headers: Record<string, string>,
): RenderedRespond {
  const body =
    respond.body === undefined ? '' : renderTemplate(respond.body, templateScope(message, value, jsonDepth));
  return { status: respond.status, headers: { ...respond.headers, ...headers }, body };
}
