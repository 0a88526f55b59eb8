/**
 * Access tokens of the credential plugins that fetch them: one cached token per source with single
 * flight, reused until it is no longer fresh.
 */
import { HookrelayError } from '../core/errors.ts';
import type { AuthContext } from './types.ts';

/** An access token and until when it is used (`freshUntil`, on the cache's clock). */
export interface Token {
  value: string;
  freshUntil: number;
}

/**
 * One cached token with single flight: concurrent requests that find no fresh token share one
 * fetch; a failed fetch is not cached, so the next request (or retry) tries again.
 */
export class TokenSource {
  readonly #fetch: (context: AuthContext | undefined) => Promise<Token>;
  readonly #now: () => number;
  #token: Token | undefined;
  #pending: Promise<Token> | undefined;

  constructor(fetch: (context: AuthContext | undefined) => Promise<Token>, now: () => number) {
    this.#fetch = fetch;
    this.#now = now;
  }

  async get(context: AuthContext | undefined): Promise<string> {
    const token = this.#token;
    if (token && this.#now() < token.freshUntil) return token.value;
    if (!this.#pending) {
      const pending = this.#fetch(context).then(
        (fresh) => {
          this.#token = fresh;
          this.#pending = undefined;
          return fresh;
        },
        (error: unknown) => {
          this.#pending = undefined;
          throw error;
        },
      );
      this.#pending = pending;
    }
    const deadline = context?.deadline;
    if (deadline === undefined) return (await this.#pending).value;
    // This caller stops waiting at its deadline; the shared fetch goes on for the others.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new HookrelayError('HOOKRELAY_ERR_AUTH_TOKEN', {
              reason: 'no token before the attempt deadline',
            }),
          ),
        Math.max(0, deadline - performance.now()),
      );
    });
    try {
      return (await Promise.race([this.#pending, late])).value;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The target refused `value`: forget it, unless a newer token already replaced it (then the
   * many requests that were refused together cause one fetch, not one each).
   */
  invalidate(value: string): void {
    if (this.#token?.value === value) this.#token = undefined;
  }
}

/**
 * Token sources shared by every route of one configuration that asks the same token endpoint for
 * the same client, scope and audience: they get the same token, fetched once.
 */
export class TokenSources {
  readonly #sources = new Map<string, TokenSource>();

  get(key: string, create: () => TokenSource): TokenSource {
    let source = this.#sources.get(key);
    if (!source) {
      source = create();
      this.#sources.set(key, source);
    }
    return source;
  }

  get size(): number {
    return this.#sources.size;
  }
}
