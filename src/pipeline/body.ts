/**
 * The read-body stage's work: the raw body read once as bytes within the route's limit and the
 * listener's minimum rate, and ended early with the error of a limit enforced outside the stream.
 */
import type { IncomingMessage } from 'node:http';
import { HookrelayError } from '../core/errors.ts';
import { BoundedBytes } from '../core/read-limited.ts';
import type { BodyRateWatch } from './body-rate.ts';

const EMPTY = Buffer.alloc(0);

/** Reads in progress, so a limit enforced outside the stream (a timeout) can end one with its error. */
const pending = new WeakMap<IncomingMessage, (error: HookrelayError) => void>();

/**
 * Ends the body read in progress on `req` with `error` (e.g. the request timeout, which Node
 * reports on the server, not on the request): the handler then answers with it as with any
 * read error, route known. False when no read is in progress.
 */
export function failBodyRead(req: IncomingMessage, error: HookrelayError): boolean {
  const fail = pending.get(req);
  if (!fail) return false;
  fail(error);
  return true;
}

/**
 * Reads the raw body once, as bytes, refusing it as soon as it is known to exceed the limit:
 * from Content-Length before reading, or while reading a chunked body. `watch` fails a body
 * that arrives slower than `server.minBodyRate`.
 */
export function readBody(req: IncomingMessage, limit: number, watch?: BodyRateWatch): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(new HookrelayError('HOOKRELAY_ERR_BODY_TOO_LARGE', { limit }));
  }
  if (declared === '0' || (declared === undefined && req.headers['transfer-encoding'] === undefined)) {
    return Promise.resolve(EMPTY);
  }
  return new Promise((resolve, reject) => {
    const bytes = new BoundedBytes(limit);
    const fail = (error: HookrelayError) => {
      cleanup();
      reject(error);
    };
    const watched = watch?.watch(req, fail);
    const cleanup = () => {
      watch?.unwatch(watched);
      pending.delete(req);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer) => {
      if (!bytes.add(chunk)) {
        cleanup();
        reject(new HookrelayError('HOOKRELAY_ERR_BODY_TOO_LARGE', { limit }));
      }
    };
    const onEnd = () => {
      cleanup();
      resolve(bytes.bytes());
    };
    const onError = (error: Error) => {
      cleanup();
      reject(new HookrelayError('HOOKRELAY_ERR_BODY_READ', { reason: error.message }, { cause: error }));
    };
    const onAborted = () => {
      cleanup();
      reject(new HookrelayError('HOOKRELAY_ERR_CLIENT_CLOSED'));
    };
    pending.set(req, fail);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}
