/**
 * Reading a body of untrusted size into memory, bounded: the one accumulation every reader shares
 * (the relay's request body, a target's answer, a token endpoint's answer, the admin API's JSON,
 * `hookrelay try`'s stdin). What overflowing means (a 413, a truncated answer, a failed token
 * fetch) stays with each caller.
 */

/**
 * Chunks collected up to `limit` bytes. Synchronous, so an event-driven reader (the relay's
 * request body, per request) adds no promise per chunk.
 */
export class BoundedBytes {
  readonly limit: number;
  #chunks: Buffer[] = [];
  #size = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Bytes added so far. */
  get size(): number {
    return this.#size;
  }

  /** Adds a chunk; false once the total exceeds the limit (the chunk is kept, for `head`). */
  add(chunk: Buffer): boolean {
    this.#size += chunk.length;
    this.#chunks.push(chunk);
    return this.#size <= this.limit;
  }

  /** Everything added, as one buffer (a single chunk is returned as is, without a copy). */
  bytes(): Buffer {
    return this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#size);
  }

  /** The first `bytes` bytes, copied, so the chunks they came from can be freed. */
  head(bytes: number): Buffer {
    return Buffer.from(Buffer.concat(this.#chunks, this.#size).subarray(0, bytes));
  }
}

/** A body over the limit, for readers that refuse rather than truncate. */
export class BodyTooLargeError extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(`body exceeds ${limit} bytes`);
    this.name = 'BodyTooLargeError';
    this.limit = limit;
  }
}

export interface ReadLimitedOptions {
  /**
   * Over the limit, stop reading and return the first `truncateTo` bytes with `truncated: true`.
   * Without it, an oversized body throws BodyTooLargeError.
   */
  truncateTo?: number;
  /**
   * Called once the limit is exceeded, before reading stops (for example to destroy the source
   * with an error listener attached). Leaving the loop also closes the source.
   */
  abandon?: () => void;
}

export interface Limited {
  body: Buffer;
  truncated: boolean;
}

/**
 * Reads `source` (a stream or any async iterable of chunks) to its end, up to `limit` bytes.
 * Errors of the source pass through unchanged.
 */
export async function readLimited(
  source: AsyncIterable<unknown>,
  limit: number,
  options: ReadLimitedOptions = {},
): Promise<Limited> {
  const bytes = new BoundedBytes(limit);
  for await (const chunk of source) {
    if (bytes.add(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer))) continue;
    options.abandon?.();
    if (options.truncateTo === undefined) throw new BodyTooLargeError(limit);
    return { body: bytes.head(options.truncateTo), truncated: true };
  }
  return { body: bytes.bytes(), truncated: false };
}
