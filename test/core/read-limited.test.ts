import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BodyTooLargeError, BoundedBytes, readLimited } from '../../src/core/read-limited.ts';

/** The one bounded accumulation: exact at the limit, refusing or truncating one byte past it. */

const chunksOf = fc
  .array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 })
  .map((list) => list.map(Buffer.from));

describe('readLimited', () => {
  it('a body of exactly the limit is read whole; one byte more is refused', async () => {
    const body = Buffer.from('0123456789');
    expect(await readLimited(Readable.from([body.subarray(0, 4), body.subarray(4)]), 10)).toEqual({
      body,
      truncated: false,
    });
    await expect(readLimited(Readable.from([body, Buffer.from('x')]), 10)).rejects.toEqual(
      new BodyTooLargeError(10),
    );
  });

  it('truncateTo stops reading and keeps a copy of the first bytes', async () => {
    let pulled = 0;
    async function* source() {
      for (let i = 0; i < 100; i++) {
        pulled++;
        yield Buffer.alloc(10, i);
      }
    }
    const got = await readLimited(source(), 25, { truncateTo: 12 });
    expect(got.truncated).toBe(true);
    expect(got.body).toEqual(Buffer.concat([Buffer.alloc(10, 0), Buffer.alloc(2, 1)]));
    expect(pulled).toBe(3);
  });

  it('abandon runs once, when the limit is passed, and the stream is closed', async () => {
    const stream = Readable.from([Buffer.alloc(8), Buffer.alloc(8), Buffer.alloc(8)]);
    let abandoned = 0;
    await expect(readLimited(stream, 10, { abandon: () => abandoned++ })).rejects.toBeInstanceOf(
      BodyTooLargeError,
    );
    expect(abandoned).toBe(1);
    expect(stream.destroyed).toBe(true);
  });

  it('an error of the source passes through unchanged', async () => {
    const failure = new Error('socket hang up');
    async function* source() {
      yield Buffer.from('a');
      throw failure;
    }
    await expect(readLimited(source(), 10)).rejects.toBe(failure);
  });

  it('string chunks count as their UTF-8 bytes', async () => {
    expect((await readLimited(Readable.from(['é', 'ü'], { objectMode: true }), 4)).body.toString()).toBe(
      'éü',
    );
    await expect(readLimited(Readable.from(['é', 'ü'], { objectMode: true }), 3)).rejects.toBeInstanceOf(
      BodyTooLargeError,
    );
  });

  it('property: under the limit the bytes are exact; over it, refused or truncated to the prefix', async () => {
    await fc.assert(
      fc.asyncProperty(chunksOf, fc.nat(400), fc.nat(100), async (chunks, limit, keep) => {
        const whole = Buffer.concat(chunks);
        if (whole.length <= limit) {
          const got = await readLimited(Readable.from(chunks), limit);
          expect(got).toEqual({ body: whole, truncated: false });
          return;
        }
        await expect(readLimited(Readable.from(chunks), limit)).rejects.toBeInstanceOf(BodyTooLargeError);
        const cut = await readLimited(Readable.from(chunks), limit, { truncateTo: keep });
        expect(cut.truncated).toBe(true);
        expect(cut.body).toEqual(whole.subarray(0, Math.min(keep, cut.body.length)));
        expect(cut.body.length).toBeLessThanOrEqual(keep);
      }),
    );
  });
});

describe('BoundedBytes', () => {
  it('counts every chunk and says when the total passed the limit', () => {
    const bytes = new BoundedBytes(5);
    expect(bytes.add(Buffer.from('abc'))).toBe(true);
    expect(bytes.add(Buffer.from('de'))).toBe(true);
    expect(bytes.size).toBe(5);
    expect(bytes.bytes().toString()).toBe('abcde');
    expect(bytes.add(Buffer.from('f'))).toBe(false);
    expect(bytes.head(4).toString()).toBe('abcd');
  });

  it('a single chunk is handed back without a copy; no chunk is an empty buffer', () => {
    const chunk = Buffer.from('only');
    const bytes = new BoundedBytes(10);
    bytes.add(chunk);
    expect(bytes.bytes()).toBe(chunk);
    expect(new BoundedBytes(10).bytes().length).toBe(0);
  });
});
