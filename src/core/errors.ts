/**
 * The one table of every error hookrelay answers with, on the relay listener and on the admin
 * API's. Callers (and users' alerting) match on the stable `code`; `docs/errors.md` is generated
 * from this table.
 */
import type { ConfigCode } from './config-codes.ts';

export interface ErrorSpec {
  status: number;
  message: string;
  retryable: boolean;
  description: string;
  /**
   * The listener that answers with it: the admin API (`admin.host:admin.port`, whose error body is
   * `{ error, message }` only); without it, the relay listener that serves the routes.
   */
  listener?: 'admin';
}

export const ERRORS = {
  HOOKRELAY_ERR_ROUTE_NOT_FOUND: {
    status: 404,
    message: 'no route matches {method} {path}',
    retryable: false,
    description: 'No configured route has this path.',
  },
  HOOKRELAY_ERR_METHOD_NOT_ALLOWED: {
    status: 405,
    message: 'route accepts {allow}, not {method}',
    retryable: false,
    description: 'A route matches the path but not the method; the `Allow` header lists the accepted ones.',
  },
  HOOKRELAY_ERR_UNAUTHORIZED: {
    status: 401,
    message: 'the caller could not be verified ({verifier}: {reason})',
    retryable: false,
    description:
      'A `verify` check failed: credentials or signature missing, malformed, wrong, expired or replayed. Nothing is forwarded; the secret and the signature are never echoed.',
  },
  HOOKRELAY_ERR_REPLAY_UNAVAILABLE: {
    status: 503,
    message: 'the replay window could not be checked ({verifier})',
    retryable: true,
    description:
      'With `queue.driver: redis` the verifiers\' `replayWindow` is kept in Redis, shared by every instance; Redis was unreachable or slower than `queue.redis.commandTimeout`. The call passed its checks but is refused rather than risk accepting a replay: nothing is forwarded, the answer carries `Retry-After`, and the sender\'s retry gets through once Redis is back. Counted in `hookrelay_verify_failures_total` with `reason="unavailable"`.',
  },
  HOOKRELAY_ERR_FORBIDDEN: {
    status: 403,
    message: 'the caller is not allowed ({verifier}: {reason})',
    retryable: false,
    description: "The caller address is outside the route's `ipAllow` lists. Nothing is forwarded.",
  },
  HOOKRELAY_ERR_HANDSHAKE_REFUSED: {
    status: 403,
    message: 'the {handshake} handshake was refused ({reason})',
    retryable: false,
    description:
      "The call is the provider's handshake of the route's `handshake`, but its token does not match the configured one (Meta's `hub.verify_token` against `verifyToken`, compared in constant time). Not answered and not forwarded; counted in `hookrelay_handshakes_refused_total`.",
  },
  HOOKRELAY_ERR_HANDSHAKE_MALFORMED: {
    status: 400,
    message: 'the {handshake} handshake is malformed ({detail})',
    retryable: false,
    description:
      "The call is the provider's handshake of the route's `handshake` (e.g. Slack's `type: url_verification`, `?crc_token=`), but its challenge is missing, repeated, longer than 2048 bytes or holds control characters. Nothing is echoed and nothing forwarded; counted in `hookrelay_handshakes_refused_total`.",
  },
  HOOKRELAY_ERR_BODY_TOO_LARGE: {
    status: 413,
    message: 'request body exceeds the route limit of {limit} bytes',
    retryable: false,
    description:
      'The body is larger than `limits.body` of the route (checked on Content-Length and while reading).',
  },
  HOOKRELAY_ERR_BODY_TOO_COMPLEX: {
    status: 413,
    message: '{step}: the {format} body is too complex: {reason}',
    retryable: false,
    description:
      'A transform step refused a body with more elements, attributes or text nodes than its limits allow (`maxElements`, `maxAttributes`, `maxTextNodes` of the `xml` step), found by a linear scan before anything is built; or one whose parse needed more memory than a parsing worker thread has (`parsing.workerMemory`). The reason names the limit and where it was exceeded. Nothing is forwarded.',
  },
  HOOKRELAY_ERR_BODY_READ: {
    status: 400,
    message: 'request body could not be read: {reason}',
    retryable: true,
    description:
      'The body stream broke with an error of its own while it was being read (a stream error Node reports on the request rather than through its HTTP parser). What the parser refuses is `HOOKRELAY_ERR_BAD_REQUEST` (400): a malformed chunked encoding (a bad chunk size), or a caller that closed its side (FIN) before `Content-Length` bytes arrived. A caller that reset the connection is `HOOKRELAY_ERR_CLIENT_CLOSED` (499), logged only.',
  },
  HOOKRELAY_ERR_MALFORMED_BODY: {
    status: 400,
    message: '{step}: malformed {format} body: {reason}',
    retryable: false,
    description:
      'A transform step could not parse the body as the format it reads (JSON, XML, form); the reason gives the line and column where the parser does. Nothing is forwarded.',
  },
  HOOKRELAY_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: '{step}: cannot read a body of type {contentType}, expected {expected}',
    retryable: false,
    description: 'A transform step received a body type it cannot read. Nothing is forwarded.',
  },
  HOOKRELAY_ERR_TRANSFORM_FAILED: {
    status: 422,
    message: '{step}: {reason}',
    retryable: false,
    description:
      'A well-formed body could not be transformed (e.g. a required field is missing, a value has the wrong type). Nothing is forwarded.',
  },
  HOOKRELAY_ERR_RULE_REFUSED: {
    status: 403,
    message: "refused by rule '{rule}'{detail}",
    retryable: false,
    description:
      "A route rule with `refuse` matched the call (e.g. a sender's organisation that is not ours). The status is the rule's (`refuse.status`: 400, 401, 403, 404, 409, 410 or 422; 403 when unset). Nothing is forwarded.",
  },
  HOOKRELAY_ERR_RULE_FAILED: {
    status: 422,
    message: "rule '{rule}': {reason}",
    retryable: false,
    description:
      "A rule's `jsonata` condition failed while it was evaluated (an error raised by the expression, or stopped after 1 s). Nothing is forwarded.",
  },
  HOOKRELAY_ERR_TARGET_CONDITION_FAILED: {
    status: 422,
    message: "target '{target}': its `when` condition failed: {reason}",
    retryable: false,
    description:
      "A fan-out target's `jsonata` condition failed while it was evaluated (an error raised by the expression, or stopped after 1 s). Nothing is forwarded to any target.",
  },
  HOOKRELAY_ERR_INVALID_PARAMETER: {
    status: 400,
    message: 'refused as part of the target path: {reason}',
    retryable: false,
    description:
      "A path parameter or query value inserted into the path of the target URL template renders to a `.` or `..` segment (also before a `;` parameter, as in `..;x`), or holds a slash, backslash or NUL (which a target decoding `%2F` would split on): it could walk up the target's path. Nothing is forwarded.",
  },
  HOOKRELAY_ERR_INVALID_PATH: {
    status: 400,
    message: 'the path below the route prefix is refused: {reason}',
    retryable: false,
    description:
      'The rest of the path below a prefix route (`/base/*`) holds a `.` or `..` segment (in any encoding, also before a `;` parameter: `..;x`, `%2e%2e;`, `..%3b`), an empty segment (`//`), an encoded slash or backslash (`%2F`, `%5C`), a backslash, a NUL byte, a malformed `%` escape, or a `.`, `/`, `\\`, `;` or NUL encoded twice (`%252e`): it could walk up or out of the base path at the target. Nothing is forwarded.',
  },
  HOOKRELAY_ERR_CLIENT_CLOSED: {
    status: 499,
    message: 'the caller closed the connection before the answer was ready',
    retryable: true,
    description:
      'Logged and counted only (nginx convention): nobody is left to answer. The delivery in progress is abandoned.',
  },
  HOOKRELAY_ERR_UPSTREAM_UNREACHABLE: {
    status: 502,
    message: 'target could not be reached after {attempts} attempt(s): {reason}',
    retryable: true,
    description: 'Every attempt failed with a network error or a per-attempt timeout.',
  },
  HOOKRELAY_ERR_UPSTREAM_FAILED: {
    status: 502,
    message: 'target still failing after {attempts} attempt(s): {reason}',
    retryable: true,
    description: 'The target kept answering a retryable status (e.g. 503) until the attempts ran out.',
  },
  HOOKRELAY_ERR_UPSTREAM_RESPONSE_TOO_LARGE: {
    status: 502,
    message: 'the target answered {status} with more than limits.response ({limit} bytes)',
    retryable: false,
    description:
      'A sync or hybrid route: the target refused the request (a status outside `retryOn`, e.g. 400) with an answer larger than `limits.response`, which cannot be relayed. Nothing is queued. A large answer with a retryable status (e.g. 503) is retried like any other; a large 2xx is `HOOKRELAY_ERR_DELIVERED_RESPONSE_TOO_LARGE`.',
  },
  HOOKRELAY_ERR_DELIVERED_RESPONSE_TOO_LARGE: {
    status: 200,
    message:
      'the target accepted the request ({status}), but its answer is larger than limits.response ({limit} bytes) and is not relayed',
    retryable: false,
    description:
      "A sync or hybrid route: the target accepted the request (2xx) with an answer larger than `limits.response`. The request is delivered and counted as delivered (a hybrid route queues nothing), so the caller gets 200 and this body instead of a cut-off answer: it must not send the request again. A route with `respond` answers with it as usual. An async delivery whose target answers so is delivered too, with the answer's first KiB on the record.",
  },
  HOOKRELAY_ERR_AUTH_TOKEN: {
    status: 502,
    message: 'could not obtain an OAuth2 access token: {reason}',
    retryable: true,
    description:
      "The `oauth2` token endpoint of `forward.auth` (or of a `fetch` step's `auth`) was unreachable, answered a non-2xx status, or gave no usable `access_token`. Nothing was sent to the target; the reason quotes the status and the RFC 6749 `error` code, never the secret or a token.",
  },
  HOOKRELAY_ERR_FETCH_MISSING_VALUE: {
    status: 422,
    message: '{step}: the lookup URL needs {placeholder}, which has no value in this call',
    retryable: false,
    description:
      'A `fetch` step: a placeholder of its `url` (`{body.id}`, `{params.x}`, `{query.x}`, `{headers.x}`) has no value (missing, null or empty) in the payload so far or the request. Nothing is looked up or forwarded.',
  },
  HOOKRELAY_ERR_FETCH_UNREACHABLE: {
    status: 502,
    message: '{step}: the lookup could not be reached after {attempts} attempt(s): {reason}',
    retryable: true,
    description:
      "A `fetch` step: every attempt at the lookup failed with a network error (refused, reset, DNS, TLS). Nothing is forwarded. The reason names the error, never the lookup URL's query or a credential.",
  },
  HOOKRELAY_ERR_FETCH_TIMEOUT: {
    status: 504,
    message: '{step}: the lookup did not answer within its timeout of {timeout} ms ({attempts} attempt(s))',
    retryable: true,
    description:
      "A `fetch` step: the lookup (all its attempts and the waits between them, and its OAuth2 token request) took longer than the step's `timeout`. Nothing is forwarded.",
  },
  HOOKRELAY_ERR_FETCH_STATUS: {
    status: 502,
    message: '{step}: the lookup answered {status}',
    retryable: false,
    description:
      "A `fetch` step: the lookup answered a non-2xx status that is not retried (e.g. 404, 400, 401) and that no key of the step's `answers` covers. Nothing is forwarded. A status `answers` covers gives the configured answer instead.",
  },
  HOOKRELAY_ERR_FETCH_FAILED: {
    status: 502,
    message: '{step}: the lookup still answered {status} after {attempts} attempt(s)',
    retryable: true,
    description:
      "A `fetch` step: the lookup kept answering a retried status (429, 502, 503, 504) until the step's `retry.attempts` or its `timeout` ran out, and no key of `answers` covers the last one. Nothing is forwarded.",
  },
  HOOKRELAY_ERR_FETCH_TOO_LARGE: {
    status: 502,
    message: '{step}: the lookup answered {status} with more than maxResponse ({limit} bytes)',
    retryable: false,
    description:
      "A `fetch` step: the lookup's 2xx answer is larger than the step's `maxResponse`; only its first KiB was read. Nothing is forwarded.",
  },
  HOOKRELAY_ERR_FETCH_MALFORMED: {
    status: 502,
    message: '{step}: the lookup answered {status} with a body that cannot be read as {format}: {reason}',
    retryable: false,
    description:
      "A `fetch` step: the lookup's 2xx answer is not the JSON or XML its content type (or the step's `parse`) says, is nested deeper than the route's `limits.jsonDepth`, or has a content type `parse: auto` cannot read. Nothing is forwarded.",
  },
  HOOKRELAY_ERR_REDIRECT_REFUSED: {
    status: 502,
    message: 'target redirect not followed: {reason}',
    retryable: false,
    description:
      'The target answered a redirect that `forward.followRedirects` allows following, but to another origin (scheme, host or port), without a usable `Location`, or one hop too many. Nothing was sent to the other location.',
  },
  HOOKRELAY_ERR_RESPONSE_TRANSFORM_FAILED: {
    status: 502,
    message: 'the target accepted the request, but its answer could not be reshaped: {reason}',
    retryable: false,
    description:
      'A `response.transform` step failed on a 2xx target answer. The target has the request: re-sending it would deliver it twice.',
  },
  HOOKRELAY_ERR_DEADLINE: {
    status: 504,
    message: 'delivery deadline of {deadline} ms exceeded after {attempts} attempt(s): {reason}',
    retryable: true,
    description:
      'The overall `timeouts.deadline` of the route ran out before the target accepted the request.',
  },
  HOOKRELAY_ERR_UPSTREAM_TIMEOUT: {
    status: 504,
    message: 'target did not answer in time ({phase} limit of {timeout} ms)',
    retryable: true,
    description:
      'A stream route: the connection to the target was not established within `timeouts.connect`, or nothing moved in either direction for `stream.idleTimeout` before the target started its answer. The upstream request is aborted.',
  },
  HOOKRELAY_ERR_UPSTREAM_ABORTED: {
    status: 502,
    message: 'the exchange with the target broke off after the answer started: {reason}',
    retryable: true,
    description:
      "A stream route: the target reset the connection, the body went over `limits.body`, or `stream.idleTimeout` ran out after the target's answer had started. The status line was already sent, so the caller's connection is closed (the caller sees a truncated answer); logged and counted only.",
  },
  HOOKRELAY_ERR_QUEUE_FULL: {
    status: 503,
    message: 'the delivery queue is full ({scope} limit of {limit}); retry after {retryAfter} s',
    retryable: true,
    description:
      'Backpressure: the route or the whole relay holds `maxPending` deliveries (or `maxPendingBytes`). The answer carries `Retry-After`; nothing was stored.',
  },
  HOOKRELAY_ERR_QUEUE_UNAVAILABLE: {
    status: 503,
    message: 'the webhook could not be stored durably: {reason}',
    retryable: true,
    description:
      'Writing to the queue failed (a full disk; the redis driver: Redis unreachable, slower than `queue.redis.commandTimeout`, out of memory, or fewer replicas than `waitReplicas` confirmed). The webhook was NOT acknowledged; the answer carries `Retry-After` and the sender should retry. The condition is logged once when writes start failing (`queue writes failing`, with the reason) and once when they succeed again (`queue writes recovered`, with the count of refused webhooks), not for every caller.',
  },
  HOOKRELAY_ERR_OVERLOADED: {
    status: 503,
    message: 'too many requests in flight (limit {limit}); retry after {retryAfter} s',
    retryable: true,
    description:
      'Backpressure: `server.maxConcurrentRequests` relayed requests are already being processed. The answer carries `Retry-After`; nothing was read or forwarded. Health, readiness and metrics endpoints stay reachable.',
  },
  HOOKRELAY_ERR_TRANSFORM_BUSY: {
    status: 503,
    message:
      '{step}: every parsing worker is busy and the parsing queue is full (parsing.queue: {limit}); retry after {retryAfter} s',
    retryable: true,
    description:
      'Backpressure: a body at least `parsing.workerThreshold` large arrived while every parsing worker thread was busy and `parsing.queue` others were already waiting for one. Nothing was parsed or forwarded; the sender should retry later.',
  },
  HOOKRELAY_ERR_TOO_MANY_REQUESTS: {
    status: 429,
    message: 'too many requests in flight from this client (limit {limit}); retry after {retryAfter} s',
    retryable: true,
    description:
      "Fairness: the caller's address (its /64 for IPv6, the forwarded address behind a trusted proxy) already has `server.perClient.maxConcurrentRequests` requests to routes in flight. The answer carries `Retry-After` and closes the connection when the body was not read; nothing was read or forwarded. Other callers are not affected.",
  },
  HOOKRELAY_ERR_BODY_TOO_SLOW: {
    status: 408,
    message:
      'the request body arrived too slowly: {received} bytes in the last {window} ms, server.minBodyRate is {rate} bytes/s',
    retryable: true,
    description:
      'A slow or stalled sender, on a buffered or a stream route: once the body had been arriving for `server.minBodyRate.grace`, fewer than `bytesPerSecond` × `grace` bytes arrived within one `grace`. Time the relay spent not reading (a stream target that reads slowly) does not count. The connection is closed; nothing is forwarded (a stream route aborts the upstream request).',
  },
  HOOKRELAY_ERR_REQUEST_TIMEOUT: {
    status: 408,
    message: 'the request was not received in time ({phase} limit of {timeout} ms)',
    retryable: true,
    description:
      'A slow sender: the headers did not arrive within `server.headersTimeout`, or the whole request (headers and body) within `server.requestTimeout`. The connection is closed; nothing is forwarded.',
  },
  HOOKRELAY_ERR_HEADERS_TOO_LARGE: {
    status: 431,
    message: 'request headers exceed the limit of {limit} bytes',
    retryable: false,
    description:
      'The request line and headers together are larger than `server.maxHeaderSize`. The connection is closed; nothing is forwarded.',
  },
  HOOKRELAY_ERR_BAD_REQUEST: {
    status: 400,
    message: 'malformed HTTP request: {detail}',
    retryable: false,
    description:
      "The bytes received are not a valid HTTP/1.1 request (Node's parser refused them, e.g. an invalid header name or a bad chunk size), or the caller closed its side before the `Content-Length` bytes of the body arrived. The connection is closed; nothing is forwarded.",
  },
  HOOKRELAY_ERR_SHUTTING_DOWN: {
    status: 503,
    message: 'hookrelay is shutting down',
    retryable: true,
    description: 'A new request arrived during graceful shutdown.',
  },
  HOOKRELAY_ERR_INTERNAL: {
    status: 500,
    message: 'internal error',
    retryable: true,
    description: 'A bug in hookrelay; the log line carries the details.',
  },
  HOOKRELAY_ERR_ADMIN_UNAUTHORIZED: {
    status: 401,
    message: 'missing or wrong admin token',
    retryable: false,
    listener: 'admin',
    description:
      '`admin.token` is set and the request has no `Authorization: Bearer <token>` header, or another token (compared in constant time). The answer carries `WWW-Authenticate: Bearer`.',
  },
  HOOKRELAY_ERR_ADMIN_HOST_NOT_ALLOWED: {
    status: 403,
    message:
      "the admin API does not answer to the host '{host}' (Host header): if that name is yours, add it to admin.allowedHosts",
    retryable: false,
    listener: 'admin',
    description:
      "The `Host` header names neither the admin listener (its address; loopback names on loopback; the machine's names and addresses on all interfaces) nor one of `admin.allowedHosts`: the DNS rebinding guard. Checked before the token.",
  },
  HOOKRELAY_ERR_ADMIN_CROSS_ORIGIN: {
    status: 403,
    message: 'cross-origin requests are refused ({reason})',
    retryable: false,
    listener: 'admin',
    description:
      'The request says it comes from a web page of another origin: an `Origin` other than the `Host` it was sent to, or `Sec-Fetch-Site: cross-site` or `same-site`. Checked before the token.',
  },
  HOOKRELAY_ERR_ADMIN_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: '{method} needs Content-Type: application/json{actual}',
    retryable: false,
    listener: 'admin',
    description:
      'A `POST` without `Content-Type: application/json`, which a cross-origin page can send only after a CORS preflight (that the admin API never answers).',
  },
  HOOKRELAY_ERR_ADMIN_BAD_REQUEST: {
    status: 400,
    message: '{reason}',
    retryable: false,
    listener: 'admin',
    description:
      'A query parameter or body field is unknown or has a wrong value, the body is not a JSON object, or a purge asks for pending deliveries. The message names the parameter.',
  },
  HOOKRELAY_ERR_ADMIN_NOT_FOUND: {
    status: 404,
    message: '{reason}',
    retryable: false,
    listener: 'admin',
    description: 'No delivery has this id, or no admin endpoint has this path.',
  },
  HOOKRELAY_ERR_ADMIN_METHOD_NOT_ALLOWED: {
    status: 405,
    message: '{path} accepts {method}',
    retryable: false,
    listener: 'admin',
    description: 'The endpoint exists but takes another method; the `Allow` header lists it.',
  },
  HOOKRELAY_ERR_ADMIN_BODY_TOO_LARGE: {
    status: 413,
    message: 'body exceeds {limit} bytes',
    retryable: false,
    listener: 'admin',
    description: 'A request body over 1 MiB.',
  },
  HOOKRELAY_ERR_ADMIN_CSRF: {
    status: 403,
    message: 'the console form is not from this session ({reason}): reload the page and submit it again',
    retryable: false,
    listener: 'admin',
    description:
      'A console `POST` (a form of `/console`) without the session cookie, or whose hidden CSRF token is not the one bound to that cookie (compared in constant time), e.g. a form posted from another site or from a page opened before the relay restarted. See [console.md](console.md#csrf-and-csp).',
  },
  HOOKRELAY_ERR_ADMIN_FORM_EXPECTED: {
    status: 415,
    message: 'console forms are posted as application/x-www-form-urlencoded{actual}',
    retryable: false,
    listener: 'admin',
    description:
      "A `POST` to a console path whose body is not a URL-encoded form (the only kind the console's forms send), or over 64 KiB.",
  },
  HOOKRELAY_ERR_ADMIN_QUEUE: {
    status: 500,
    message: 'queue error: {reason}',
    retryable: true,
    listener: 'admin',
    description:
      'The queue store failed to answer (e.g. the SQLite file cannot be read); logged at `error` level.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** The codes the admin API answers with. */
export type AdminErrorCode = {
  [K in ErrorCode]: (typeof ERRORS)[K] extends { listener: 'admin' } ? K : never;
}[ErrorCode];

/** Whether a code is answered by the admin listener (not by the relay's). */
export function isAdminCode(code: ErrorCode): code is AdminErrorCode {
  const spec: ErrorSpec = ERRORS[code];
  return spec.listener === 'admin';
}

export type ErrorParams = Record<string, string | number>;

function fill(template: string, params: ErrorParams): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) =>
    key in params ? String(params[key]) : whole,
  );
}

/** An error with a stable code; the status and message come from the table. */
export class HookrelayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly params: ErrorParams;

  /** `options.status`: a status the configuration chose for this answer (a rule's `refuse.status`). */
  constructor(code: ErrorCode, params: ErrorParams = {}, options?: ErrorOptions & { status?: number }) {
    const spec: ErrorSpec = ERRORS[code];
    super(fill(spec.message, params), options);
    this.name = 'HookrelayError';
    this.code = code;
    this.status = options?.status ?? spec.status;
    this.retryable = spec.retryable;
    this.params = params;
  }
}

/**
 * Configuration problems: each issue carries the file position, the path of the bad key and its
 * stable code (core/config-codes.ts), which `validate` and `start` print beside the message.
 */
export interface ConfigIssue {
  file: string;
  line?: number;
  column?: number;
  path: string;
  code: ConfigCode;
  message: string;
}

export class ConfigError extends Error {
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    super(issues.map(formatConfigIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export function formatConfigIssue(issue: ConfigIssue): string {
  const where = issue.line ? `${issue.file}:${issue.line}:${issue.column ?? 1}` : issue.file;
  return `${where}: ${issue.path}: ${issue.message} [${issue.code}]`;
}
