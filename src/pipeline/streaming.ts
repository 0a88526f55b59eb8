/**
 * Requests whose body a stream route is relaying. `server.requestTimeout` bounds how long a
 * webhook may take to arrive; a file upload may take far longer, so for these the server's timeout
 * is ignored and `stream.idleTimeout` cuts off a sender that stalls instead.
 */
import type { IncomingMessage } from 'node:http';

const streaming = new WeakSet<IncomingMessage>();

export function markStreaming(req: IncomingMessage): void {
  streaming.add(req);
}

export function unmarkStreaming(req: IncomingMessage): void {
  streaming.delete(req);
}

export function isStreaming(req: IncomingMessage): boolean {
  return streaming.has(req);
}
