/**
 * A token bucket gating attempt starts toward one target: `rate` tokens per second, holding at
 * most `burst`. The default burst is a tenth of a second's worth (at least one), so no one-second
 * window sees much more than `rate` starts, while fast routes still lease in small batches.
 */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #at: number;

  constructor(rate: number, now: number, burst: number = Math.max(1, Math.ceil(rate / 10))) {
    this.#rate = rate / 1000;
    this.#burst = burst;
    this.#tokens = burst;
    this.#at = now;
  }

  #refill(now: number): void {
    if (now > this.#at) {
      this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#at) * this.#rate);
      this.#at = now;
    }
  }

  /** Whole tokens available now. */
  available(now: number): number {
    this.#refill(now);
    return Math.floor(this.#tokens);
  }

  take(count: number, now: number): void {
    this.#refill(now);
    this.#tokens -= count;
  }

  /** Milliseconds until one whole token is available (0 when one already is). */
  waitMs(now: number): number {
    this.#refill(now);
    return this.#tokens >= 1 ? 0 : Math.ceil((1 - this.#tokens) / this.#rate);
  }
}
