/**
 * `server.minBodyRate`: the slowest a request body may arrive, on buffered and stream routes. Once
 * a body has been arriving for `grace`, at least `bytesPerSecond` × `grace` bytes must arrive
 * within every `grace` (a sliding window), or the read is failed with 408
 * HOOKRELAY_ERR_BODY_TOO_SLOW. That cuts both the trickler (1 byte every few seconds, which per-
 * read timeouts such as nginx's `client_body_timeout` or `stream.idleTimeout` never catch) and the
 * sender that stalls, but never a large upload that keeps a steady rate.
 *
 * Only the sender's share of the time counts: a sample is taken while the relay is waiting for
 * bytes (the socket reads, nothing is buffered unread). When the relay holds bytes it has not
 * passed on yet (a stream target that reads slowly pauses the socket), the window starts again.
 *
 * The bytes come from the socket's own counter and one sweep per listener samples every body being
 * read: no timer, listener or counting per request or per chunk.
 */
import type { IncomingMessage } from 'node:http';
import { HookrelayError } from '../core/errors.ts';
import type { Metrics } from '../telemetry/metrics.ts';

export interface BodyRateLimits {
  /** 0 turns the check off. */
  bytesPerSecond: number;
  grace: number;
}

export interface WatchedRead {
  req: IncomingMessage;
  fail: (error: HookrelayError) => void;
  /** True while the relay holds bytes of this body it has not passed on (stream routes). */
  busy: (() => boolean) | undefined;
  /** [time, socket bytes read] pairs, oldest first, while the relay was waiting for the sender. */
  samples: number[];
}

export class BodyRateWatch {
  readonly #reads = new Set<WatchedRead>();
  readonly #limits: BodyRateLimits;
  readonly #metrics: Metrics;
  #timer: NodeJS.Timeout | undefined;

  constructor(limits: BodyRateLimits, metrics: Metrics) {
    this.#limits = limits;
    this.#metrics = metrics;
  }

  get enabled(): boolean {
    return this.#limits.bytesPerSecond > 0;
  }

  /** Starts the sweep (the listener is up). */
  start(): void {
    if (!this.enabled || this.#timer) return;
    const tick = Math.min(1_000, Math.max(25, Math.floor(this.#limits.grace / 4)));
    this.#timer = setInterval(() => this.#sweep(), tick).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#reads.clear();
  }

  /** Watches the body of `req` until `unwatch`; `fail` ends the read with the error to answer. */
  watch(
    req: IncomingMessage,
    fail: (error: HookrelayError) => void,
    busy?: () => boolean,
  ): WatchedRead | undefined {
    if (!this.enabled) return undefined;
    const read: WatchedRead = { req, fail, busy, samples: [] };
    this.#reads.add(read);
    return read;
  }

  unwatch(read: WatchedRead | undefined): void {
    if (read) this.#reads.delete(read);
  }

  #sweep(): void {
    const now = performance.now();
    const { bytesPerSecond, grace } = this.#limits;
    for (const read of this.#reads) {
      const { req, samples } = read;
      const socket = req.socket;
      if (req.complete || socket.destroyed) {
        this.#reads.delete(read);
        continue;
      }
      if (socket.isPaused() || req.readableLength > 0 || read.busy?.()) {
        // The relay is behind, not the sender: measure afresh once it waits for bytes again.
        samples.length = 0;
        continue;
      }
      samples.push(now, socket.bytesRead);
      // Keep one sample at least `grace` old, the oldest the window needs.
      while (samples.length > 4 && samples[2]! <= now - grace) samples.splice(0, 2);
      const since = samples[0]!;
      if (now - since < grace) continue;
      const received = socket.bytesRead - samples[1]!;
      const window = now - since;
      if (received * 1000 >= bytesPerSecond * window) continue;
      this.#reads.delete(read);
      this.#metrics.clientErrors.inc({ reason: 'body_too_slow' });
      read.fail(
        new HookrelayError('HOOKRELAY_ERR_BODY_TOO_SLOW', {
          received,
          window: Math.round(window),
          rate: bytesPerSecond,
        }),
      );
    }
  }
}
