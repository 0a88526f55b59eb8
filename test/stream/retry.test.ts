import { describe, expect, it } from 'vitest';
import { shouldRetry } from '../../src/modes/stream/retry.ts';

/**
 * The retry decision of a stream route, as a table. End to end, test/stream/proxy.test.ts shows
 * one retry against a refused port (2 attempts, then 502) and none once the target read body
 * bytes; a target that refuses once and then accepts cannot be staged on TCP without racing the
 * relay's 200 ms pause, so the success path is covered here.
 */
const fresh = { retryRefused: true, attempts: 1, bodyBytesRead: 0, bodyPiped: false };
const refused = { code: 'ECONNREFUSED' };

describe('shouldRetry', () => {
  it('retries a refused connection once, when nothing of the body was read', () => {
    expect(shouldRetry(refused, fresh)).toBe(true);
  });

  it.each([
    ['retryRefused is off', { ...fresh, retryRefused: false }, refused],
    ['it is already the retry', { ...fresh, attempts: 2 }, refused],
    ['body bytes were read', { ...fresh, bodyBytesRead: 1 }, refused],
    ['the body was piped toward a connection', { ...fresh, bodyPiped: true }, refused],
    ['the connection was reset, not refused', fresh, { code: 'ECONNRESET' }],
    ['the connect timed out', fresh, { code: 'ECONNECT_TIMEOUT' }],
    ['the host is unknown', fresh, { code: 'ENOTFOUND' }],
    ['the error has no code', fresh, {}],
  ])('does not retry when %s', (_why, state, error) => {
    expect(shouldRetry(error, state)).toBe(false);
  });
});
