/**
 * Answers on failure shaped by the configuration (a route's `onError`, docs/routing.md#answers-on-failure):
 * instead of the JSON error, the caller gets the status and templated body its software reads — the
 * 400-series message a source application displays, a SOAP fault for a SOAP sender. The error is
 * still counted and logged with its code; only what the caller reads changes.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { parseJsonText } from '../core/json.ts';
import type { InboundMessage } from '../core/message.ts';
import { emptyScope, renderTemplate, type Template, type TemplateScope } from '../core/text-template.ts';
import { isJson } from '../transforms/payload.ts';
import { templateScope } from './prepare.ts';

export interface CompiledFailureAnswer {
  /** Error codes it answers; undefined: any. */
  codes: ReadonlySet<string> | undefined;
  /** Statuses it answers (the error's, or a target's refusal); undefined: any. */
  statuses: ((status: number) => boolean) | undefined;
  /** true: only a target's refusal; false: only the relay's own errors; undefined: both. */
  fromTarget: boolean | undefined;
  /** Undefined: the error's own status (or the target's). */
  status: number | undefined;
  headers: Readonly<Record<string, string>>;
  body: Template | undefined;
}

/** What is being answered: an error of ours, or a target's non-2xx answer relayed to the caller. */
export interface Failure {
  code: string | undefined;
  message: string;
  status: number;
  response?: { status: number; headers: IncomingHttpHeaders; body: Buffer } | undefined;
}

export interface RenderedFailure {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The first `onError` entry that answers `failure`, rendered; undefined when none does. */
export function failureAnswer(
  entries: readonly CompiledFailureAnswer[],
  failure: Failure,
  call: {
    message?: InboundMessage | undefined;
    value?: unknown;
    requestId: string;
    method: string;
    path: string;
  },
  jsonDepth: number,
): RenderedFailure | undefined {
  const entry = entries.find(
    (e) =>
      (e.fromTarget === undefined || e.fromTarget === (failure.response !== undefined)) &&
      (e.codes === undefined || (failure.code !== undefined && e.codes.has(failure.code))) &&
      (e.statuses === undefined || e.statuses(failure.status)),
  );
  if (!entry) return undefined;
  const scope: TemplateScope = call.message
    ? templateScope(call.message, call.value, jsonDepth)
    : emptyScope(call.requestId, call.method, call.path);
  scope.error = { code: failure.code ?? null, message: failure.message, status: failure.status };
  const { response } = failure;
  if (response) {
    let parsed: { status: number; headers: IncomingHttpHeaders; body: unknown } | undefined;
    scope.response = () => {
      parsed ??= {
        status: response.status,
        headers: response.headers,
        body: responseBody(response, jsonDepth),
      };
      return parsed;
    };
  }
  const body = entry.body === undefined ? '' : renderTemplate(entry.body, scope);
  return { status: entry.status ?? failure.status, headers: { ...entry.headers }, body };
}

/** A target's answer as a template reads it: parsed when it is JSON, else its text. */
function responseBody(response: { headers: IncomingHttpHeaders; body: Buffer }, jsonDepth: number): unknown {
  const type = response.headers['content-type'];
  const text = response.body.toString('utf8');
  if (isJson(Array.isArray(type) ? type[0] : type)) {
    try {
      return parseJsonText(text, jsonDepth);
    } catch {
      // Not JSON after all, or too deep: its text.
    }
  }
  return text;
}
