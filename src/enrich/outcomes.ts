/**
 * How a `fetch` step ends a call without forwarding: with an answer of the route's own (a lookup
 * status its `answers` cover), which the prepare stage turns into the lifecycle's `answer`
 * result; or, in `hookrelay try` and `hookrelay test`, by stopping before the lookup to show it.
 */
import type { OutboundAuth } from '../auth/types.ts';
import { HookrelayError } from '../core/errors.ts';
import type { InboundMessage, OutboundRequest } from '../core/message.ts';
import { compileTemplate, renderTemplate, requestScope, type Template } from '../core/text-template.ts';
import { StepStop } from '../transforms/run.ts';
import type { StepInfo } from '../transforms/types.ts';
import type { FetchConfig } from './schema.ts';

/** What the caller gets, as pipeline/stages.ts `StageAnswer` takes it. */
export interface FetchAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  fields: Record<string, unknown>;
}

/**
 * The lookup answered a status the step's `answers` cover: the failure it is (its code goes into
 * `try` and `test` output), with the answer the caller gets instead of the JSON error.
 */
export class FetchAnswered extends HookrelayError {
  readonly answer: FetchAnswer;
  constructor(step: string, lookupStatus: number, answer: FetchAnswer) {
    super('HOOKRELAY_ERR_FETCH_STATUS', { step, status: lookupStatus });
    this.answer = answer;
  }
}

/**
 * The run stops before the lookup: `try` without `--fetch` (`preview`), or a `hookrelay test`
 * case without an answer for it in `fetched` (`fixture`). Carries the request without its
 * credentials and the auth that would add them, for present/redact.ts to show.
 */
export class FetchPreview extends StepStop {
  readonly step: StepInfo;
  readonly request: OutboundRequest;
  readonly auth: OutboundAuth | undefined;
  readonly reason: 'preview' | 'fixture';
  readonly into: string;
  constructor(
    step: StepInfo,
    request: OutboundRequest,
    auth: OutboundAuth | undefined,
    reason: 'preview' | 'fixture',
    into: string,
  ) {
    super(
      `${step.name}: the lookup ${request.method} ${request.url.origin}${request.url.pathname} is not made`,
    );
    this.step = step;
    this.request = request;
    this.auth = auth;
    this.reason = reason;
    this.into = into;
  }
}

interface CompiledAnswer {
  status: number;
  headers: Record<string, string>;
  body: Template;
}

/** The `answers` block compiled: exact statuses, then classes (`4xx` → 4). */
export class Answers {
  readonly #exact = new Map<number, CompiledAnswer>();
  readonly #classes = new Map<number, CompiledAnswer>();

  constructor(config: FetchConfig['answers']) {
    for (const [key, spec] of Object.entries(config ?? {})) {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(spec.headers ?? {})) headers[name.toLowerCase()] = value;
      headers['content-type'] = spec.contentType;
      const compiled = { status: spec.status, headers, body: compileTemplate(spec.body) };
      if (key.endsWith('xx')) this.#classes.set(Number(key[0]), compiled);
      else this.#exact.set(Number(key), compiled);
    }
  }

  covers(status: number): boolean {
    return this.#exact.has(status) || this.#classes.has(Math.floor(status / 100));
  }

  /** The answer for `status` over the payload with the lookup's answer under `into`; undefined when none. */
  render(status: number, message: InboundMessage, payload: unknown): Omit<FetchAnswer, 'fields'> | undefined {
    const spec = this.#exact.get(status) ?? this.#classes.get(Math.floor(status / 100));
    if (!spec) return undefined;
    const body = renderTemplate(
      spec.body,
      requestScope(message, () => payload),
    );
    return { status: spec.status, headers: { ...spec.headers }, body };
  }
}
