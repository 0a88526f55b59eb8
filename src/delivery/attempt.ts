/**
 * One attempt against the target: the request sent on the route's pool within its timeouts, the
 * answer read within the response limit, and every way it can fail (timeout, network error,
 * aborted) turned into one error kind the retry verdict reads.
 */
import type { Dispatcher } from 'undici';
import { readLimited } from '../core/read-limited.ts';
import type { AttemptOutcome } from '../telemetry/metrics.ts';

/** The target's answer to one attempt, body fully read (bounded by the response limit). */
export interface TargetResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
  /**
   * The answer was larger than the response limit: `body` holds only its first SNIPPET_BYTES
   * (the rest was not read). The status still says what the target did with the request.
   */
  truncated?: boolean;
}

/** Bytes of an answer kept when it is larger than the limit (and on a queued record, for operators). */
export const SNIPPET_BYTES = 1024;

export type AttemptFailureKind = 'timeout' | 'network_error' | 'aborted';

/** An attempt that produced no usable response. */
export class AttemptError extends Error {
  readonly kind: AttemptFailureKind;
  constructor(kind: AttemptFailureKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AttemptError';
    this.kind = kind;
  }
}

export interface AttemptRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
}

export interface AttemptOptions {
  timeout: number;
  responseLimit: number;
  /** Aborts the attempt when the overall deadline passes or the caller goes away. */
  signal?: AbortSignal | undefined;
}

export function outcomeOf(result: TargetResponse | AttemptError): AttemptOutcome {
  if (result instanceof AttemptError) return result.kind === 'aborted' ? 'timeout' : result.kind;
  if (result.truncated) return 'response_too_large';
  return `${Math.min(5, Math.max(2, Math.floor(result.status / 100)))}xx` as AttemptOutcome;
}

/** One HTTP exchange on `pool`: the request, and the answer read within the timeout and limit. */
export async function exchange(
  pool: Dispatcher,
  request: AttemptRequest,
  options: AttemptOptions,
): Promise<TargetResponse> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, options.timeout);
  const onOuterAbort = () => controller.abort();
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  try {
    const response = await pool.request({
      method: request.method as Dispatcher.HttpMethod,
      path: request.path,
      headers: request.headers,
      body: request.body,
      signal: controller.signal,
    });
    const { body, truncated } = await readAnswer(
      response.body,
      header(response.headers['content-length']),
      options.responseLimit,
    );
    const answer: TargetResponse = { status: response.statusCode, headers: flatten(response.headers), body };
    if (truncated) answer.truncated = true;
    return answer;
  } catch (error) {
    if (error instanceof AttemptError) throw error;
    if (timedOut) throw new AttemptError('timeout', `attempt timed out after ${options.timeout} ms`);
    if (options.signal?.aborted) throw new AttemptError('aborted', 'aborted', { cause: error });
    throw new AttemptError('network_error', describeNetworkError(error), { cause: error });
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onOuterAbort);
  }
}

/** Drops an unwanted body; undici reports the abort as a stream error, which must not go unheard. */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {});
  body.destroy();
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The body, or, when it is larger than `limit`, its first SNIPPET_BYTES with `truncated` (the rest
 * is not read). Too large is not a failure of the exchange: the status is known and decides.
 */
async function readAnswer(
  body: Dispatcher.ResponseData['body'],
  contentLength: string | undefined,
  limit: number,
): Promise<{ body: Buffer; truncated: boolean }> {
  const abandon = () => discard(body);
  // A declared length settles the limit up front, and undici's arrayBuffer() collects the body
  // without the per-chunk async iteration below (a measurable share of CPU per request).
  if (contentLength !== undefined && /^\d+$/.test(contentLength)) {
    if (Number(contentLength) <= limit)
      return { body: Buffer.from(await body.arrayBuffer()), truncated: false };
    // Only the snippet is wanted: reading stops once SNIPPET_BYTES arrived (or the body ended).
    const snippet = await readLimited(body, SNIPPET_BYTES - 1, { truncateTo: SNIPPET_BYTES, abandon });
    return { body: snippet.truncated ? snippet.body : Buffer.from(snippet.body), truncated: true };
  }
  return readLimited(body, limit, { truncateTo: SNIPPET_BYTES, abandon });
}

function flatten(headers: Dispatcher.ResponseData['headers']): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = value;
  return out;
}

/** OpenSSL verification codes meaning the target's certificate chain is not trusted. */
const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

/** A short reason without secrets: the error code and message of the innermost cause. */
function describeNetworkError(error: unknown): string {
  let current = error as { code?: string; message?: string; cause?: unknown } | undefined;
  while (current?.cause && typeof current.cause === 'object') current = current.cause as typeof current;
  const code = current?.code;
  const message = current?.message ?? String(error);
  const reason = code && !message.includes(code) ? `${code}: ${message}` : message;
  if (code && UNTRUSTED.has(code))
    return `${reason} (the target's certificate is not trusted: add its CA as forward.tls.ca)`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return `${reason} (or set forward.tls.servername to a name it holds)`;
  return reason;
}
