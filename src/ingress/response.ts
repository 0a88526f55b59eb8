/**
 * Whether an answer keeps its connection, decided in one place for every answer hookrelay gives
 * (routes, stream routes, health, metrics, the 404): `writeHead`, which every answer passes through
 * (`res.end()` without it calls it too). An answer says `Connection: close` (RFC 9112 §9.6) when
 *
 *   - it is given before the request body was read: the caller may stop sending it (RFC 9112 §9.3
 *     allows that), and whatever it does send would be parsed as the next request;
 *   - a graceful shutdown began: the caller must not send another request on a connection that is
 *     about to be closed, or it gets a reset instead of an answer.
 *
 * Once an answer closes the connection, requests pipelined behind it are not processed and the
 * connection ends with a lingering close (linger.ts).
 */
import { type IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { closeAfterAnswer } from './linger.ts';

const RECEIVED = Symbol('hookrelay.received');
const SEQUENCE = Symbol('hookrelay.sequence');
type Counted = Socket & { [RECEIVED]?: number };
type Numbered = IncomingMessage & { [SEQUENCE]?: number };

/** Numbers each request on its connection; call for every request, first thing. */
export function countRequest(req: IncomingMessage): void {
  const socket = req.socket as Counted;
  const n = (socket[RECEIVED] ?? 0) + 1;
  socket[RECEIVED] = n;
  (req as Numbered)[SEQUENCE] = n;
}

/** True when the request has a body of which not all has been read yet. */
export function bodyUnread(req: IncomingMessage): boolean {
  if (req.complete) return false;
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/**
 * The `writeHead` of hookrelay's answers. `isShuttingDown` is read at the moment of answering, so
 * a request that was in flight when the shutdown began is answered with `Connection: close` too.
 */
export function closingWriteHead(isShuttingDown: () => boolean) {
  const writeHead = ServerResponse.prototype.writeHead as (
    this: ServerResponse,
    ...args: unknown[]
  ) => ServerResponse;
  return function hookrelayWriteHead(this: ServerResponse, ...args: unknown[]): ServerResponse {
    const req = this.req as Numbered;
    // During shutdown, only the last request received on the connection closes it: answers to
    // requests pipelined before it go out first (Node writes them in order), then the connection ends.
    const latest = req[SEQUENCE] === (req.socket as Counted)[RECEIVED];
    if (bodyUnread(req) || (latest && isShuttingDown())) this.shouldKeepAlive = false;
    const result = writeHead.apply(this, args);
    // Set by Node when this answer ends the connection: ours, or the caller's own `Connection: close`.
    if ((this as ServerResponse & { _last?: boolean })._last) closeAfterAnswer(req.socket);
    return result;
  };
}

/** A ServerResponse whose answers follow `closingWriteHead` (for `createServer({ ServerResponse })`). */
export function closingResponse(isShuttingDown: () => boolean) {
  class HookrelayResponse extends ServerResponse {}
  Object.defineProperty(HookrelayResponse.prototype, 'writeHead', {
    value: closingWriteHead(isShuttingDown),
    writable: true,
    configurable: true,
  });
  return HookrelayResponse;
}
