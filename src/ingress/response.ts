/**
 * Whether an answer keeps its connection, decided in one place for every answer hookrelay gives
 * (routes, stream routes, health, metrics, the 404): `writeHead`, which every answer passes through
 * (`res.end()` without it calls it too). An answer given before the request body was read says
 * `Connection: close` (RFC 9112 §9.6): the caller may stop sending the body (RFC 9112 §9.3 allows
 * that), and whatever it does send would otherwise be parsed as the next request.
 *
 * Once an answer closes the connection, requests pipelined behind it are not processed and the
 * connection ends with a lingering close (linger.ts).
 */
import { type IncomingMessage, ServerResponse } from 'node:http';
import { closeAfterAnswer } from './linger.ts';

/** True when the request has a body of which not all has been read yet. */
export function bodyUnread(req: IncomingMessage): boolean {
  if (req.complete) return false;
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/** The `writeHead` of hookrelay's answers. */
export function closingWriteHead() {
  const writeHead = ServerResponse.prototype.writeHead as (
    this: ServerResponse,
    ...args: unknown[]
  ) => ServerResponse;
  return function hookrelayWriteHead(this: ServerResponse, ...args: unknown[]): ServerResponse {
    const req = this.req;
    if (bodyUnread(req)) this.shouldKeepAlive = false;
    const result = writeHead.apply(this, args);
    // Set by Node when this answer ends the connection: ours, or the caller's own `Connection: close`.
    if ((this as ServerResponse & { _last?: boolean })._last) closeAfterAnswer(req.socket);
    return result;
  };
}

/** A ServerResponse whose answers follow `closingWriteHead` (for `createServer({ ServerResponse })`). */
export function closingResponse() {
  class HookrelayResponse extends ServerResponse {}
  Object.defineProperty(HookrelayResponse.prototype, 'writeHead', {
    value: closingWriteHead(),
    writable: true,
    configurable: true,
  });
  return HookrelayResponse;
}
