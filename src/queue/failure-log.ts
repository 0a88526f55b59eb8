/**
 * A failure that repeats for as long as its cause lasts (every write to a full disk fails, for
 * every caller and every worker) is logged when it starts, when its reason changes and when it
 * ends, with how many times it happened, never once per occurrence: a burst of refused webhooks
 * must not bury the one line that says why. The metrics still count every occurrence.
 */
import type { Logger } from '../telemetry/log.ts';

export interface FailureMessages {
  /** Logged at `error` with the reason when the failures start (or their reason changes). */
  failing: string;
  /** Logged at `info` when an operation succeeds again, with `failed` (the count) and `durationMs`. */
  recovered: string;
}

/** What a failure is, for operators and for telling one cause from another. */
export function failureReason(error: unknown): { reason: string; code: string | undefined } {
  const e = error as { errstr?: unknown; message?: unknown; code?: unknown; errcode?: unknown } | null;
  // node:sqlite: `errstr` is SQLite's own text ("database or disk is full"), `errcode` its number.
  const reason =
    typeof e?.errstr === 'string' ? e.errstr : typeof e?.message === 'string' ? e.message : String(error);
  const code =
    typeof e?.code === 'string'
      ? typeof e.errcode === 'number'
        ? `${e.code}:${e.errcode}`
        : e.code
      : undefined;
  return { reason, code };
}

export class FailureLog {
  readonly #logger: Logger;
  readonly #messages: FailureMessages;
  readonly #fields: Record<string, unknown>;
  #failing: { key: string; reason: string; count: number; since: number } | undefined;

  constructor(logger: Logger, messages: FailureMessages, fields: Record<string, unknown> = {}) {
    this.#logger = logger;
    this.#messages = messages;
    this.#fields = fields;
  }

  get failing(): boolean {
    return this.#failing !== undefined;
  }

  failed(error: unknown, fields: Record<string, unknown> = {}): void {
    const { reason, code } = failureReason(error);
    const key = `${code ?? ''} ${reason}`;
    const current = this.#failing;
    if (current?.key === key) {
      current.count += 1;
      return;
    }
    // Failing for another reason now: that is news, with how many failed before it.
    const before = current ? { failedBefore: current.count, reasonBefore: current.reason } : {};
    this.#failing = {
      key,
      reason,
      count: (current?.count ?? 0) + 1,
      since: current?.since ?? performance.now(),
    };
    this.#logger.error(
      { ...this.#fields, ...fields, reason, code, ...before, err: error },
      this.#messages.failing,
    );
  }

  succeeded(): void {
    const current = this.#failing;
    if (!current) return;
    this.#failing = undefined;
    this.#logger.info(
      {
        ...this.#fields,
        failed: current.count,
        reason: current.reason,
        durationMs: Math.round(performance.now() - current.since),
      },
      this.#messages.recovered,
    );
  }
}
