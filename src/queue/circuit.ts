/**
 * A per-route circuit breaker (the classic three states, as in Nygard's "Release It!"): after
 * `failures` consecutive failed attempts the route pauses for `cooldown`, then one probe attempt
 * decides whether it closes again or re-opens for another cooldown.
 */
export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitOptions {
  failures: number;
  cooldown: number;
}

export class CircuitBreaker {
  readonly #failures: number;
  readonly #cooldown: number;
  #onChange: (state: CircuitState) => void;
  #consecutive = 0;
  /** Monotonic time the circuit opened; undefined while closed. */
  #openedAt: number | undefined;
  #probing = false;
  #reported: CircuitState = 'closed';

  constructor(options: CircuitOptions, onChange: (state: CircuitState) => void = () => {}) {
    this.#failures = options.failures;
    this.#cooldown = options.cooldown;
    this.#onChange = onChange;
  }

  /** Whom to tell of changes from now on: a reload's new loop for the route takes the breaker over. */
  rebind(onChange: (state: CircuitState) => void): void {
    this.#onChange = onChange;
  }

  /** Whether it counts and cools down as these options say (a reload that changed them starts a new one). */
  sameOptions(options: CircuitOptions): boolean {
    return options.failures === this.#failures && options.cooldown === this.#cooldown;
  }

  state(now: number): CircuitState {
    if (this.#openedAt === undefined) return 'closed';
    return now - this.#openedAt >= this.#cooldown ? 'half-open' : 'open';
  }

  /** How many attempts may start now: all while closed, one probe once half-open, none while open. */
  allowance(now: number): number {
    const state = this.#report(now);
    if (state === 'closed') return Number.POSITIVE_INFINITY;
    return state === 'half-open' && !this.#probing ? 1 : 0;
  }

  /** Milliseconds until an open circuit lets a probe through; undefined when not waiting on the clock. */
  waitMs(now: number): number | undefined {
    if (this.#openedAt === undefined || this.#probing) return undefined;
    return Math.max(0, this.#openedAt + this.#cooldown - now);
  }

  /** The half-open probe was started (call once the attempt is really under way). */
  probe(now: number): void {
    if (this.state(now) === 'half-open') this.#probing = true;
  }

  /** The target answered (2xx or a definitive refusal): it is reachable, so the circuit closes. */
  success(now: number): void {
    this.#consecutive = 0;
    this.#openedAt = undefined;
    this.#probing = false;
    this.#report(now);
  }

  failure(now: number): void {
    const state = this.state(now);
    if (state === 'open') return; // a straggler started before the circuit opened: already counted
    if (state === 'half-open') {
      this.#openedAt = now;
      this.#probing = false;
    } else if (++this.#consecutive >= this.#failures) {
      this.#openedAt = now;
      this.#consecutive = 0;
    }
    this.#report(now);
  }

  #report(now: number): CircuitState {
    const state = this.state(now);
    if (state !== this.#reported) {
      this.#reported = state;
      this.#onChange(state);
    }
    return state;
  }
}
