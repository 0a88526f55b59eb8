/**
 * Closing a connection after an answer without losing the answer (nginx's `lingering_close`).
 *
 * A connection is closed after its answer when the answer was given before the request body was
 * read (the rest of the body would otherwise be parsed as the next request), once a graceful
 * shutdown began, or when the caller asked for it. Closing a socket that still has unread bytes
 * makes the kernel send a TCP reset, and a caller still uploading then sees "connection reset"
 * instead of the answer. So once the answer is written, the connection is half-closed (FIN), and
 * whatever still arrives is read and dropped (never parsed as HTTP) until the caller closes its
 * side or LINGER_MS have passed; a caller still sending after that is cut off.
 */
import type { Socket } from 'node:net';

export const LINGER_MS = 2_000;

const CLOSING = Symbol('hookrelay.closing');
type Marked = Socket & { [CLOSING]?: true };

/** True once an answer on this connection said `Connection: close`: later requests are not processed. */
export function isClosing(socket: Socket): boolean {
  return (socket as Marked)[CLOSING] === true;
}

/**
 * Marks the connection as ending with the answer being written. Node's HTTP server calls
 * `destroySoon()` once the last answer is flushed; for this socket that becomes the lingering close.
 */
export function closeAfterAnswer(socket: Socket): void {
  const marked = socket as Marked;
  if (marked[CLOSING]) return;
  marked[CLOSING] = true;
  socket.destroySoon = () => lingerAndClose(socket);
}

function discard(): void {}

function lingerAndClose(socket: Socket): void {
  if (socket.destroyed) return;
  // The HTTP parser's listeners go, as Node's own upgrade path does: adding a `data` listener makes
  // the server hand the socket back from the parser, so what arrives from now on is only dropped.
  const parsing = socket.listeners('data') as ((chunk: Buffer) => void)[];
  const ending = socket.listeners('end') as (() => void)[];
  socket.on('data', discard);
  for (const listener of parsing) socket.removeListener('data', listener);
  for (const listener of ending) socket.removeListener('end', listener);
  // Out of the server's connection list too: its timeout sweep and closeIdleConnections() (at the
  // end of a graceful stop) would otherwise reset the connection before the caller read the answer.
  (socket as Socket & { parser?: { remove?: () => void } | null }).parser?.remove?.();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('end', () => socket.destroy());
  socket.once('close', () => clearTimeout(timer));
  socket.resume();
  // The FIN follows the answer once it is flushed; the socket stays readable (allowHalfOpen).
  socket.end();
}
