import type { IncomingMessage } from 'node:http';

/**
 * How long an answer sent before the body was read (413, 503) waits for the rest of the upload.
 * Closing a socket with unread data makes the kernel send a TCP reset, and a caller still
 * uploading then sees "connection reset" instead of our JSON answer. So the remaining bytes are
 * read and discarded for a bounded time, as nginx's `lingering_close` does; a sender that is still
 * going after that is cut off.
 */
export const LINGER_MS = 2_000;

/** Discards what the caller is still sending; destroys the connection if it does not end in time. */
export function lingerUntilEnd(req: IncomingMessage): void {
  if (req.complete) return;
  const timer = setTimeout(() => {
    if (!req.complete) req.socket.destroy();
  }, LINGER_MS);
  timer.unref();
  req.once('end', () => clearTimeout(timer));
  req.once('close', () => clearTimeout(timer));
  req.resume();
}
