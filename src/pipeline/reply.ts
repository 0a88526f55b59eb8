/**
 * Answers to the caller: the JSON error body every refusal has (code, message, status, route,
 * request id), and writing an answer or an error once.
 */
import type { ServerResponse } from 'node:http';
import { HookrelayError } from '../core/errors.ts';

/** The JSON error body every failure answers with: a stable code, the route and the request id. */
export interface ErrorBody {
  error: string;
  message: string;
  status: number;
  route: string | null;
  requestId: string;
  attempts?: number;
  lastError?: string;
}

export function errorBody(error: HookrelayError, route: string | null, requestId: string): ErrorBody {
  const body: ErrorBody = {
    error: error.code,
    message: error.message,
    status: error.status,
    route,
    requestId,
  };
  // Delivery errors only (they count attempts): elsewhere `reason` is already in the message.
  if (typeof error.params.attempts === 'number') {
    body.attempts = error.params.attempts;
    if (typeof error.params.reason === 'string') body.lastError = error.params.reason;
  }
  return body;
}

export function asHookrelayError(error: unknown): HookrelayError {
  if (error instanceof HookrelayError) return error;
  return new HookrelayError('HOOKRELAY_ERR_INTERNAL', {}, { cause: error });
}

export function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string | string[]>,
  body: Buffer | string,
): void {
  if (res.headersSent || res.destroyed) return;
  headers['content-length'] = String(Buffer.byteLength(body));
  res.writeHead(status, headers);
  res.end(body);
}

export function sendError(
  res: ServerResponse,
  error: HookrelayError,
  route: string | null,
  requestId: string,
  requestIdHeader: string,
  extraHeaders: Record<string, string> = {},
): void {
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    [requestIdHeader]: requestId,
  };
  // An error that tells the caller when to come back (backpressure) says it in the header too.
  const retryAfter = error.params.retryAfter;
  if (typeof retryAfter === 'number' && Number.isFinite(retryAfter)) {
    headers['retry-after'] = String(Math.max(0, Math.ceil(retryAfter)));
  }
  send(
    res,
    error.status,
    Object.assign(headers, extraHeaders),
    JSON.stringify(errorBody(error, route, requestId)),
  );
}
