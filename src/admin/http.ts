/**
 * Plumbing of the admin API: its errors (codes of the one error table), JSON in and out with
 * bounded request bodies, and the bearer-token check.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type AdminErrorCode, type ErrorParams, HookrelayError } from '../core/errors.ts';
import { BodyTooLargeError, readLimited } from '../core/read-limited.ts';

/** A refusal of the admin API: a code of the one error table (core/errors.ts) and its headers. */
export class AdminError extends HookrelayError {
  declare readonly code: AdminErrorCode;
  readonly headers: Record<string, string>;
  constructor(code: AdminErrorCode, params: ErrorParams = {}, headers: Record<string, string> = {}) {
    super(code, params);
    this.name = 'AdminError';
    this.headers = headers;
  }
}

/** The JSON body of an admin error answer (docs/errors.md#admin-api-codes). */
export function adminErrorBody(error: AdminError): { error: AdminErrorCode; message: string } {
  return { error: error.code, message: error.message };
}

export const badRequest = (reason: string) => new AdminError('HOOKRELAY_ERR_ADMIN_BAD_REQUEST', { reason });

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
  redact: (text: string) => string = (text) => text,
): void {
  if (res.headersSent || res.destroyed) return;
  const body = `${redact(JSON.stringify(value))}\n`;
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
  });
  res.end(body);
}

const MAX_BODY = 1024 * 1024;

/** The request body as a JSON object; an empty body is `{}`. */
export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length']);
  if (declared > MAX_BODY) throw tooLarge();
  let body: Buffer;
  try {
    ({ body } = await readLimited(req, MAX_BODY));
  } catch (error) {
    throw error instanceof BodyTooLargeError ? tooLarge() : error;
  }
  const text = body.toString('utf8');
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw badRequest(`body is not valid JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest('body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

function tooLarge(): AdminError {
  return new AdminError('HOOKRELAY_ERR_ADMIN_BODY_TOO_LARGE', { limit: MAX_BODY });
}

/**
 * `Authorization: Bearer <token>` against the configured token in constant time: both sides are
 * hashed first, so the comparison always runs on equal-length buffers and the length of the token
 * does not leak either.
 */
export function bearerCheck(token: string): (header: string | undefined) => boolean {
  const expected = createHash('sha256').update(token).digest();
  return (header) => {
    const match = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header);
    const given = createHash('sha256')
      .update(match?.[1] ?? '')
      .digest();
    return timingSafeEqual(given, expected) && match !== null;
  };
}
