/**
 * The errors a transform step fails a request with, one constructor per kind: malformed input
 * (400), too complex (413, naming the limit), parsing capacity busy (503), a step that failed
 * (422), an unsupported body (415).
 */
import { HookrelayError } from '../core/errors.ts';

/**
 * A body that cannot be parsed as the format a step expects: the caller's fault, 400. `limit`
 * names the setting that refused it (e.g. `maxDepth`), for the metric that counts refusals by limit.
 */
export function malformed(step: string, format: string, reason: string, limit?: string): HookrelayError {
  return new HookrelayError('HOOKRELAY_ERR_MALFORMED_BODY', {
    step,
    format,
    reason,
    ...(limit ? { limit } : {}),
  });
}

/** A body with more structure than the step's limits allow (elements, attributes, ...): 413. */
export function tooComplex(step: string, format: string, reason: string, limit: string): HookrelayError {
  return new HookrelayError('HOOKRELAY_ERR_BODY_TOO_COMPLEX', { step, format, reason, limit });
}

/** Every parsing worker busy and the queue full: 503, worth retrying. */
export function busy(step: string, limit: number, retryAfter: number): HookrelayError {
  return new HookrelayError('HOOKRELAY_ERR_TRANSFORM_BUSY', { step, limit, retryAfter });
}

/** A step that cannot produce its output from a well-formed body (missing field, bad type): 422. */
export function failed(step: string, reason: string): HookrelayError {
  return new HookrelayError('HOOKRELAY_ERR_TRANSFORM_FAILED', { step, reason });
}

/** A body of a type no step of the route can read (e.g. binary into `map`): 415. */
export function unsupported(step: string, contentType: string | undefined, expected: string): HookrelayError {
  return new HookrelayError('HOOKRELAY_ERR_UNSUPPORTED_MEDIA_TYPE', {
    step,
    contentType: contentType ?? 'none',
    expected,
  });
}
