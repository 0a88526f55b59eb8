import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyTooLargeError, readLimited } from '../core/read-limited.ts';

/** Plumbing of the admin API: its errors, JSON in and out, and the bearer token check. */

export const ADMIN_ERRORS = {
  HOOKRELAY_ERR_ADMIN_UNAUTHORIZED: 401,
  HOOKRELAY_ERR_ADMIN_HOST_NOT_ALLOWED: 403,
  HOOKRELAY_ERR_ADMIN_CROSS_ORIGIN: 403,
  HOOKRELAY_ERR_ADMIN_UNSUPPORTED_MEDIA_TYPE: 415,
  HOOKRELAY_ERR_ADMIN_BAD_REQUEST: 400,
  HOOKRELAY_ERR_ADMIN_NOT_FOUND: 404,
  HOOKRELAY_ERR_ADMIN_METHOD_NOT_ALLOWED: 405,
  HOOKRELAY_ERR_ADMIN_BODY_TOO_LARGE: 413,
  HOOKRELAY_ERR_ADMIN_QUEUE: 500,
} as const;

export type AdminErrorCode = keyof typeof ADMIN_ERRORS;

export class AdminError extends Error {
  readonly code: AdminErrorCode;
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(code: AdminErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.code = code;
    this.status = ADMIN_ERRORS[code];
    this.headers = headers;
  }
}

export const badRequest = (message: string) => new AdminError('HOOKRELAY_ERR_ADMIN_BAD_REQUEST', message);

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
  return new AdminError('HOOKRELAY_ERR_ADMIN_BODY_TOO_LARGE', `body exceeds ${MAX_BODY} bytes`);
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
