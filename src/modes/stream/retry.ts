/**
 * When a stream route tries the target again. The body is not kept: once one byte of it was read
 * from the caller, it cannot be sent a second time, so the only failure worth retrying is a
 * connection refused before the body was touched (the exchange pipes the body only once the
 * connection is up). A refused connection also proves the target saw nothing of the request.
 */
export interface AttemptState {
  /** `stream.retryRefused` of the route. */
  retryRefused: boolean;
  /** Attempts made so far, the failed one included. */
  attempts: number;
  /** Bytes of the caller's body read so far. */
  bodyBytesRead: number;
  /** Whether the body was ever piped toward the target (it is only once a connection is up). */
  bodyPiped: boolean;
}

export function shouldRetry(error: { code?: string | undefined }, state: AttemptState): boolean {
  return (
    state.retryRefused &&
    state.attempts === 1 &&
    state.bodyBytesRead === 0 &&
    !state.bodyPiped &&
    error.code === 'ECONNREFUSED'
  );
}
