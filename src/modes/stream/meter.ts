/**
 * Counts the bytes of a body passing through, tells the exchange that something moved (idle
 * timer) and stops at `limit`: the chunk that crosses it is not passed on, `onLimit` is called.
 */
import { Transform, type TransformCallback } from 'node:stream';

export class Meter extends Transform {
  bytes = 0;
  readonly #limit: number;
  readonly #onChunk: () => void;
  readonly #onLimit: () => void;

  constructor(limit: number, onChunk: () => void, onLimit: () => void) {
    super();
    this.#limit = limit;
    this.#onChunk = onChunk;
    this.#onLimit = onLimit;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.#limit) {
      this.bytes -= chunk.length;
      callback();
      this.#onLimit();
      return;
    }
    this.#onChunk();
    callback(null, chunk);
  }
}
