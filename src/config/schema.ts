import { z } from 'zod';
import { authSchema } from '../auth/index.ts';
import { tlsSchema } from '../delivery/tls.ts';
import { ATTEMPT_ROW_BYTES, DEFAULT_KEEP_ATTEMPTS } from '../queue/types.ts';
import { signerSchema } from '../signers/index.ts';
import { transformSchema } from '../transforms/index.ts';
import { compileTemplate } from '../transforms/template.ts';
import { verifierSchema } from '../verifiers/index.ts';
import { parseCidr } from '../verifiers/ip-allow.ts';
import { duration, headerMap, headerName, METHODS, method, size } from './fields.ts';
import { checkModeKeys } from './mode-keys.ts';
import { parseRoutePath } from './route-path.ts';
import { parseUrlTemplate } from './template.ts';

/**
 * The single source of truth for the configuration: validation, the TypeScript types and
 * docs/configuration.md (scripts/gen-docs.ts) all come from here. Objects are strict: an unknown
 * key is an error, so a typo never passes silently.
 */

const statusOrClass = z
  .union([z.number().int().min(100).max(599), z.string().regex(/^[1-5]xx$/, { message: 'must be like 5xx' })])
  .meta({ description: 'A status code (`503`) or a class (`5xx`).' });

const timeoutsFields = {
  connect: duration('Time allowed to open a TCP/TLS connection to the target.', '5s'),
  attempt: duration('Time allowed for one attempt: connect, send, and receive the full response.', '10s'),
  deadline: duration(
    'Overall time for all attempts and backoff; the caller never waits longer than this. Sync routes only: a hybrid caller waits `hybrid.budget`, queued deliveries are bounded by `queue.maxAge`.',
    '30s',
  ),
};
const retryFields = {
  attempts: z.number().int().min(1).max(100).meta({
    description:
      'Total attempts while the caller waits, the first one included (1 = no retries). Queued attempts: `queue.maxAttempts`.',
    example: 3,
  }),
  minDelay: duration(
    'Backoff before the first retry while the caller waits; doubles (by `factor`) after each attempt. Queued retries: `queue.minDelay`.',
    '200ms',
  ),
  maxDelay: duration('Cap for the backoff while the caller waits. Queued retries: `queue.maxDelay`.', '10s'),
  maxRetryAfter: duration(
    'Cap for a `Retry-After` the target answers with (seconds or a date) while the caller waits; it replaces the backoff, and a longer one is waited this long. The wait still has to end before the deadline, or the caller gets 504 at once. Queued retries: `queue.maxRetryAfter`.',
    '10s',
  ),
  factor: z.number().min(1).max(10).meta({ description: 'Backoff multiplier.', example: 2 }),
  jitter: z
    .boolean()
    .meta({ description: 'Randomise each delay ("full jitter") so retries from many requests spread.' }),
  retryOn: z
    .array(statusOrClass)
    .meta({ description: 'Target statuses that are retried. Network errors and timeouts always are.' }),
};
const limitsFields = {
  body: size('Largest request body accepted (413 beyond it).', '1mb'),
  response: size(
    'Largest target answer read in full and relayed back to the caller. Of a larger one only the first KiB is read: its status still decides (a 2xx is a delivery, see HOOKRELAY_ERR_DELIVERED_RESPONSE_TOO_LARGE; a retryable status is retried).',
    '10mb',
  ),
  jsonDepth: z.number().int().min(1).max(1_000).meta({
    description:
      'Deepest nesting of objects and arrays accepted in a JSON body that hookrelay parses (transform steps, templates, the target answer under `response.transform`); a deeper body is refused with 400 before it is parsed. At most 1000: the parse that keeps long numbers exact, and writing the JSON back, recurse once per level. XML has its own `maxDepth` on the `xml` step.',
    example: 64,
  }),
};

const timeoutsDefaults = { connect: 5_000, attempt: 10_000, deadline: 30_000 };
const retryDefaults = {
  attempts: 3,
  minDelay: 200,
  maxDelay: 10_000,
  maxRetryAfter: 10_000,
  factor: 2,
  jitter: true,
  retryOn: [408, 429, '5xx'] as (number | string)[],
};
const limitsDefaults = { body: 1024 * 1024, response: 10 * 1024 * 1024, jsonDepth: 64 };

const timeouts = z.strictObject(timeoutsFields).partial().meta({ description: 'Timeouts.' });
const retry = z.strictObject(retryFields).partial().meta({ description: 'Retry policy.' });
const limits = z.strictObject(limitsFields).partial().meta({ description: 'Size and nesting limits.' });

const respond = z
  .strictObject({
    status: z.number().int().min(200).max(599).default(200).meta({ description: 'Status code.' }),
    headers: headerMap.optional(),
    contentType: z
      .string()
      .optional()
      .meta({ description: 'Content-Type of `body`.', example: 'text/xml; charset=utf-8' }),
    body: z.string().optional().meta({
      description:
        'Body. `{{ path }}` inserts a value of the inbound request (`body.…`, `query.…`, `params.…`, `headers.…`, `method`, `path`, `requestId`), e.g. to echo a verification challenge; `{requestId}` is kept for compatibility.',
      example: '<ack id="{{ requestId }}">OK</ack>',
    }),
  })
  .meta({
    description:
      'Answer the caller with this instead of the target response once the target has accepted the request (failures still answer with an error, so the sender retries).',
  });

const routeTest = z
  .strictObject({
    name: z.string().min(1).meta({ description: 'What the case checks; printed by `hookrelay test`.' }),
    request: z
      .strictObject({
        method: method.optional().meta({ description: "Inbound method (default: the route's first)." }),
        path: z
          .string()
          .startsWith('/')
          .optional()
          .meta({ description: 'Inbound path (default: the route path, parameters as written).' }),
        query: z
          .string()
          .optional()
          .meta({ description: 'Inbound query string, without `?`.', example: 'id=42&status=paid' }),
        headers: z.record(z.string(), z.string()).optional().meta({ description: 'Inbound headers.' }),
        contentType: z.string().optional().meta({ description: 'Inbound Content-Type.' }),
        body: z.string().optional().meta({ description: 'Inbound body.' }),
        bodyFile: z
          .string()
          .optional()
          .meta({ description: 'Inbound body read from a file, relative to the config file.' }),
      })
      .prefault({})
      .meta({ description: 'The call the sender makes.' }),
    expect: z
      .strictObject({
        method: method.optional().meta({ description: 'Forwarded method.' }),
        url: z.string().optional().meta({ description: 'Forwarded URL, exactly.' }),
        headers: z.record(z.string(), z.string()).optional().meta({
          description: 'Forwarded headers that must be present with these values (others may be too).',
        }),
        body: z.string().optional().meta({ description: 'Forwarded body, exactly.' }),
        json: z
          .unknown()
          .optional()
          .meta({ description: 'Forwarded body parsed as JSON, deep-equal to this.' }),
        error: z.string().optional().meta({
          description:
            'Expected error code instead of a forwarded request, e.g. HOOKRELAY_ERR_TRANSFORM_FAILED.',
        }),
      })
      .meta({ description: 'What must be forwarded, or the error expected.' }),
  })
  .meta({
    description: 'A test case for `hookrelay test`: an inbound call and what the route must forward.',
  });

const forward = z
  .strictObject({
    url: z.string().meta({
      description:
        'Target URL. `{param}` inserts a path parameter, `{query.name}` a query value (both percent-encoded). The host is fixed. For a prefix route (`path: /base/*`) it is the base URL: the rest of the request path is appended to its path.',
      example: 'https://api.example.com/{tenant}/orders',
    }),
    method: method.optional().meta({ description: 'Method sent to the target (default: the inbound one).' }),
    headers: headerMap.optional().meta({ description: 'Static headers added to every forwarded request.' }),
    passHeaders: z
      .array(headerName)
      .optional()
      .meta({
        description:
          'When set, only these caller headers are forwarded (they may include Authorization or Cookie), plus Content-Type and Content-Encoding, which describe the body. When unset, all end-to-end headers except Host, Authorization and Cookie are.',
        example: ['x-erp-event', 'authorization'],
      }),
    passQuery: z
      .boolean()
      .default(true)
      .meta({ description: 'Append the inbound query string to the target URL.' }),
    auth: authSchema.optional(),
    sign: z.array(signerSchema).min(1).optional().meta({
      description:
        'Signatures added to every forwarded request, after `auth`, over the final body (after transforms) and URL; recomputed on every attempt with a fresh timestamp.',
    }),
    tls: tlsSchema.optional(),
    followRedirects: z.number().int().min(0).max(10).default(0).meta({
      description:
        'Redirects followed per attempt, only to the same origin (scheme, host, port); 301, 302, 307 and 308 re-send the same method and body with credentials and signatures re-applied. 0: a 3xx is the answer, like any other non-2xx.',
      example: 2,
    }),
  })
  .superRefine((forward, ctx) => {
    if (forward.tls && typeof forward.url === 'string' && !/^https:/i.test(forward.url)) {
      ctx.addIssue({ code: 'custom', path: ['tls'], message: 'only applies to an https:// target URL' });
    }
  })
  .meta({ description: 'Where and how the request is forwarded.' });

/**
 * By default zod skips refinements once any field of the object failed a type check or a
 * transform (a bad duration, an unknown method), which would hide the checks below until that is
 * fixed. They run anyway, on the fields that are usable, so every problem is reported at once.
 */
const evenAfterErrors = {
  when: (payload: z.core.ParsePayload) => typeof payload.value === 'object' && payload.value !== null,
};

const routeQueue = z.strictObject({
  concurrency: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(4)
    .meta({ description: 'Deliveries of this route in flight at once.' }),
  rateLimit: z
    .number()
    .positive()
    .optional()
    .meta({ description: 'Maximum deliveries started per second toward the target.', example: 20 }),
  maxAttempts: z.number().int().min(1).max(10_000).default(1_000).meta({
    description:
      'Attempts before a delivery is dead-lettered (with the default backoff, `maxAge` usually decides first).',
  }),
  maxAge: duration('Dead-letter a delivery still failing this long after it was accepted.', '24h').default(
    86_400_000,
  ),
  minDelay: duration(
    'Backoff before the first queued retry; grows by `retry.factor` after each attempt.',
    '1s',
  ).default(1_000),
  maxDelay: duration('Cap of the queued backoff.', '5m').default(300_000),
  maxRetryAfter: duration(
    'Cap for a `Retry-After` the target answers with between queued attempts, which replaces the backoff: a longer one is waited this long (and never past `maxAge`).',
    '1h',
  ).default(3_600_000),
  lease: duration(
    'How long a worker holds a delivery; after a crash it is retried once this expires.',
    '30s',
  ).default(30_000),
  maxPending: z.number().int().min(1).default(100_000).meta({
    description: 'Pending deliveries allowed for this route; beyond it callers get 503 with Retry-After.',
  }),
  maxPendingBytes: size(
    'Bytes of pending deliveries allowed for this route: their bodies and their kept attempt history (see `queue.keepAttempts`); 503 beyond it.',
    '256mb',
  ).default(256 * 1024 * 1024),
  idHeaders: z.array(headerName).default(['Idempotency-Key', 'X-Hookrelay-Delivery']).meta({
    description:
      'Headers carrying the stable delivery id on every attempt, so the target can drop duplicates.',
  }),
  circuitBreaker: z
    .strictObject({
      failures: z
        .number()
        .int()
        .min(1)
        .default(5)
        .meta({ description: 'Consecutive failed attempts that open the circuit.' }),
      cooldown: duration('How long deliveries of the route pause once the circuit is open.', '30s').default(
        30_000,
      ),
    })
    .optional()
    .meta({
      description: 'Pause the route after consecutive failures instead of hammering the target.',
    }),
});

/** What a queued route gets for the `queue` keys it does not set (and a route without a `queue` block). */
export const ROUTE_QUEUE_DEFAULTS = routeQueue.parse({});

export const routeSchema = z
  .strictObject({
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, {
        message: 'must be 1-64 letters, digits, ".", "_" or "-" (it is a metrics label)',
      })
      .meta({
        description: 'Stable identifier, used in metrics, logs and error bodies.',
        example: 'erp-orders',
      }),
    path: z.string().meta({
      description:
        'Inbound path, exact or with `:name` parameters; `*` as the last segment makes a prefix route (`/legacy/api/*`), which matches the base path and everything below it and appends the rest of the path to `forward.url`. Exact paths win over parameters, parameters over prefixes, and the longest prefix wins.',
      example: '/in/:tenant/orders',
    }),
    methods: z
      .array(method)
      .min(1)
      .default(['POST'])
      .meta({ description: `Accepted methods: ${METHODS.join(', ')}.`, example: ['POST', 'PUT'] }),
    verify: z.array(verifierSchema).min(1).optional().meta({
      description:
        'Checks of the caller, all of which must pass, on the raw request before anything else reads it. A failure answers 401 (403 for an address outside `ipAllow`) and nothing is forwarded. Without `verify` any caller is accepted.',
    }),
    forward: forward.optional(),
    echo: z.boolean().optional().meta({
      description:
        'Instead of forwarding, answer with a JSON description of the request received (secrets masked). For demos and for testing a sender.',
    }),
    transform: z.array(transformSchema).optional().meta({
      description:
        'Steps applied in order to the request before it is forwarded (XML/form to JSON, mapping, headers, JSON to XML). The content type forwarded follows the last step.',
    }),
    response: z
      .strictObject({
        transform: z.array(transformSchema).min(1).meta({
          description:
            'Steps applied to a 2xx target answer before the caller gets it (e.g. JSON to an XML acknowledgement).',
        }),
      })
      .optional()
      .meta({ description: 'Reshape the target answer for the caller (synchronous routes).' }),
    delivery: z.enum(['sync', 'async', 'hybrid', 'stream']).default('sync').meta({
      description:
        '`sync`: the caller waits for the target and gets its answer. `async`: the webhook is stored durably, the caller gets 202 (or `respond`) at once, workers deliver it. `hybrid`: try synchronously within `hybrid.budget`, else store it and acknowledge. `stream`: a proxy — the body goes to the target as it arrives and the answer comes back the same way, never held in memory (files, whole APIs); no transforms, retries or queue, which need the whole body.',
    }),
    stream: z
      .strictObject({
        idleTimeout: duration(
          'Longest time without a byte moving in either direction, waiting for the answer included: 504 when the target has not started answering, else both connections are closed.',
          '60s',
        ).default(60_000),
        retryRefused: z.boolean().default(false).meta({
          description:
            'Try once more, 200 ms later, when the connection to the target was refused before any byte of the body was read (the body is read only once a connection is up). No other failure is retried: the body is not kept, so it cannot be sent again.',
        }),
      })
      .optional()
      .meta({ description: 'Options of `delivery: stream`.' }),
    hybrid: z
      .strictObject({
        budget: duration(
          'How long the caller may wait for a synchronous delivery before it is queued.',
          '3s',
        ).default(3_000),
      })
      .optional()
      .meta({ description: 'Options of `delivery: hybrid`.' }),
    queue: routeQueue.optional().meta({
      description:
        'Queue and worker settings of an `async` or `hybrid` route (an error on other routes). Queued retries back off from `minDelay` to `maxDelay` and honour a `Retry-After` up to `maxRetryAfter` (patient defaults: a target may be down for hours, `maxAge` decides when to give up); `retry.factor`, `retry.jitter`, `retry.retryOn`, `timeouts.connect` and `timeouts.attempt` apply as to synchronous attempts, `retry.attempts/minDelay/maxDelay/maxRetryAfter` and `timeouts.deadline` do not (they are errors on an async route).',
    }),
    dedup: z
      .strictObject({
        header: headerName
          .optional()
          .meta({ description: 'Header holding the webhook id.', example: 'X-Event-Id' }),
        field: z.string().optional().meta({
          description: 'Path of the webhook id in the (transformed) JSON body.',
          example: 'event.id',
        }),
        window: duration('How long an id is remembered.', '24h').default(86_400_000),
      })
      .optional()
      .meta({
        description:
          'Drop a webhook whose id was already accepted within the window, answering as if accepted (`async` routes; counted in hookrelay_dedup_dropped_total). Exactly one of `header` or `field`.',
      }),
    respond: respond.optional(),
    tests: z.array(routeTest).optional().meta({ description: 'Test cases run by `hookrelay test -c FILE`.' }),
    timeouts: timeouts.optional(),
    retry: retry.optional(),
    limits: limits.optional(),
  })
  .superRefine((route, ctx) => {
    // Runs even when other fields failed (see `evenAfterErrors`): read only fields of the right type.
    let params: string[] = [];
    let prefix = false;
    if (typeof route.path === 'string') {
      try {
        ({ params, prefix } = parseRoutePath(route.path));
      } catch (error) {
        ctx.addIssue({ code: 'custom', path: ['path'], message: (error as Error).message });
      }
    }
    if (!route.forward === !route.echo) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: 'a route needs exactly one of `forward` or `echo: true`',
      });
    }
    if (route.dedup && !route.dedup.header === !route.dedup.field) {
      ctx.addIssue({ code: 'custom', path: ['dedup'], message: 'needs exactly one of `header` or `field`' });
    }
    if (route.dedup && route.delivery === 'sync') {
      ctx.addIssue({
        code: 'custom',
        path: ['dedup'],
        message: 'needs `delivery: async` or `hybrid` (ids are kept in the queue store)',
      });
    }
    if (route.stream && route.delivery !== 'stream') {
      ctx.addIssue({ code: 'custom', path: ['stream'], message: 'only applies to `delivery: stream`' });
    }
    if (route.delivery === 'stream') checkStreamRoute(route, ctx);
    else checkModeKeys(route, ctx);
    if (route.hybrid && route.delivery !== 'hybrid') {
      ctx.addIssue({ code: 'custom', path: ['hybrid'], message: 'only applies to `delivery: hybrid`' });
    }
    if (route.echo && route.delivery !== undefined && route.delivery !== 'sync') {
      ctx.addIssue({
        code: 'custom',
        path: ['delivery'],
        message: 'an echo route answers itself; it has no delivery mode',
      });
    }
    if (typeof route.respond?.body === 'string') {
      try {
        compileTemplate(route.respond.body);
      } catch (error) {
        ctx.addIssue({ code: 'custom', path: ['respond', 'body'], message: (error as Error).message });
      }
    }
    if (typeof route.forward?.url === 'string') {
      try {
        parseUrlTemplate(route.forward.url, params, prefix);
      } catch (error) {
        ctx.addIssue({ code: 'custom', path: ['forward', 'url'], message: (error as Error).message });
      }
    }
  }, evenAfterErrors)
  .meta({ description: 'One inbound endpoint and what to do with its calls.' });

/** Verifiers that read only headers and the address: the body of a stream route is not held to check. */
const BODYLESS_VERIFIERS = ['basic', 'apiKey', 'ipAllow'];

/** A stream route proxies the body as it arrives: whatever needs the whole body cannot apply. */
function checkStreamRoute(route: z.output<typeof routeSchema>, ctx: z.core.$RefinementCtx): void {
  const why = 'a stream route does not hold the body';
  const refuse = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: 'custom', path, message: `does not apply to \`delivery: stream\` (${message})` });
  if (route.transform) refuse(['transform'], `${why}; use a sync route`);
  if (route.response) refuse(['response'], 'the answer is streamed back as it arrives');
  if (route.respond) refuse(['respond'], 'the caller gets the answer of the target');
  if (route.dedup) refuse(['dedup'], 'nothing is queued');
  if (route.hybrid) refuse(['hybrid'], 'nothing is queued');
  if (route.retry) {
    refuse(['retry'], `${why}, so it cannot be sent again; see \`stream.retryRefused\``);
  }
  if (route.queue !== undefined) refuse(['queue'], 'nothing is queued');
  for (const key of ['attempt', 'deadline'] as const) {
    if (route.timeouts?.[key] !== undefined) {
      refuse(['timeouts', key], 'a transfer may take long; `stream.idleTimeout` bounds a stalled one');
    }
  }
  if (route.limits?.response !== undefined) refuse(['limits', 'response'], 'the answer is not held');
  if (route.limits?.jsonDepth !== undefined) refuse(['limits', 'jsonDepth'], 'the body is not parsed');
  if (route.forward?.sign) refuse(['forward', 'sign'], `a signature covers the whole body and ${why}`);
  if (typeof route.forward?.followRedirects === 'number' && route.forward.followRedirects > 0) {
    refuse(['forward', 'followRedirects'], `${why} to re-send; a 3xx is relayed to the caller`);
  }
  if (Array.isArray(route.verify)) {
    route.verify.forEach((verifier, index) => {
      const type = (verifier as { type?: unknown })?.type;
      if (typeof type === 'string' && !BODYLESS_VERIFIERS.includes(type)) {
        ctx.addIssue({
          code: 'custom',
          path: ['verify', index, 'type'],
          message: `'${type}' checks the body, which a stream route does not hold: only ${BODYLESS_VERIFIERS.join(', ')} can verify a \`delivery: stream\` route`,
        });
      }
    });
  }
}

export const configSchema = z
  .strictObject({
    server: z
      .strictObject({
        host: z.string().default('0.0.0.0').meta({ description: 'Listen address.' }),
        port: z.coerce.number().int().min(0).max(65535).default(8080).meta({ description: 'Listen port.' }),
        shutdownGrace: duration(
          'On SIGTERM/SIGINT, time in-flight requests get to finish before exit.',
          '10s',
        ).default(10_000),
        requestIdHeader: headerName
          .default('x-request-id')
          .meta({ description: 'Header carrying the request id, in and out.' }),
        maxHeaderSize: size(
          'Largest request line plus headers accepted (431 beyond it, connection closed).',
          '16kb',
        ).default(16 * 1024),
        headersTimeout: duration(
          'Time a caller gets to send the request line and all headers (408 beyond it): cuts off senders that trickle headers (slowloris).',
          '10s',
        ).default(10_000),
        requestTimeout: duration(
          'Time a caller gets to send the whole request, headers and body (408 beyond it). Time spent waiting for the target does not count.',
          '60s',
        ).default(60_000),
        keepAliveTimeout: duration(
          'How long an idle keep-alive connection stays open for the next request. Keep it longer than the idle timeout of a load balancer in front.',
          '65s',
        ).default(65_000),
        maxConcurrentRequests: z.number().int().min(1).default(1_000).meta({
          description:
            'Requests to routes processed at once, across all routes; beyond it callers get 503 with `Retry-After` (health, readiness and metrics stay reachable). A queued route counts only until its webhook is stored.',
          example: 1000,
        }),
        firstByteTimeout: duration(
          'Time a new connection gets to send the first byte of its first request (`headersTimeout` when that is shorter: Node starts it when the connection is accepted). A connection that sends nothing is closed without an answer (nothing was asked), counted and logged at most every 10 s; from the first byte on, `headersTimeout` applies, and between requests on a kept-alive connection `keepAliveTimeout`.',
          '5s',
        ).default(5_000),
        maxConnections: z
          .union([z.literal('auto'), z.number().int().min(1)])
          .default('auto')
          .meta({
            description:
              'Connections open at once on the listener; beyond it a new connection is closed as soon as it is accepted (counted, and logged at most every 10 s). `auto`: half the open-file limit the process runs with (`ulimit -n`, read at start; 1024 assumed where it cannot be read), at most 10000, so that descriptors remain for connections to targets, the queue and the admin API.',
            example: 4096,
          }),
        minBodyRate: z
          .strictObject({
            bytesPerSecond: size(
              'The slowest rate, in bytes per second, at which a request body may keep arriving; 0 turns the check off.',
              '500b',
            ).default(500),
            grace: duration(
              'How long a body may arrive at any rate before the check starts, and the span the rate is measured over from then on: a sender that stalls is cut after `grace` at the latest.',
              '10s',
            ).default(10_000),
          })
          .prefault({})
          .meta({
            description:
              'The slowest a request body may arrive, on buffered and stream routes alike (nginx `client_body_timeout`, Apache `mod_reqtimeout` MinRate): once a body has been arriving for `grace`, at least `bytesPerSecond` × `grace` bytes must arrive within every `grace`, or the caller gets 408 `HOOKRELAY_ERR_BODY_TOO_SLOW` and the connection is closed. Time during which hookrelay itself is not reading (a stream target that reads slowly) does not count against the sender. A large upload at a steady rate is never cut; buffered routes are also bounded as a whole by `requestTimeout`.',
          }),
        perClient: z
          .strictObject({
            maxConnections: z
              .union([z.literal('auto'), z.number().int().min(0)])
              .default('auto')
              .meta({
                description:
                  'Connections one client address may hold open at once; beyond it its new connection is closed as soon as it is accepted (counted, logged at most every 10 s). `auto`: a quarter of `server.maxConnections`; 0: no per-client cap.',
                example: 256,
              }),
            maxConcurrentRequests: z
              .union([z.literal('auto'), z.number().int().min(0)])
              .default('auto')
              .meta({
                description:
                  'Requests to routes from one client address processed at once; beyond it that client gets 429 `HOOKRELAY_ERR_TOO_MANY_REQUESTS` with `Retry-After` while other clients are served. `auto`: a quarter of `server.maxConcurrentRequests`; 0: no per-client cap.',
                example: 250,
              }),
            ipv6Prefix: z.number().int().min(32).max(128).default(64).meta({
              description:
                'IPv6 callers are counted by network prefix of this length, since one subscriber usually owns a whole /64 (or /56, /48) and can pick any address in it; 128 counts every address on its own.',
              example: 64,
            }),
            trustedProxies: z
              .array(z.string())
              .default([])
              .meta({
                description:
                  "Addresses or CIDR ranges of load balancers and reverse proxies in front of hookrelay. Their connections are not capped per client (every caller shares them), and their requests count against the address they report: the right-most `X-Forwarded-For` entry that is not itself a trusted proxy. Behind a proxy not listed here, every caller has the proxy's address, and the per-client caps act as caps on the whole proxy.",
                example: ['10.0.0.0/8'],
              }),
          })
          .prefault({})
          .meta({
            description:
              'Fair shares per client address, so that one caller cannot take every connection or request slot. Behind a load balancer, list it in `trustedProxies` (or set the caps to 0).',
          }),
      })
      .prefault({})
      .meta({ description: 'HTTP listener.' }),
    parsing: z
      .strictObject({
        workerThreshold: size(
          'Bodies at least this large are parsed by worker threads (`xml` steps), so a large document does not hold up other requests and the health endpoints; smaller ones are parsed on the event loop, where a thread hop would cost more than the parse. Every body this large (JSON too) is also transformed on a turn of the event loop of its own, so other requests are served between two of them.',
          '16kb',
        ).default(16 * 1024),
        workers: z.number().int().min(0).max(256).optional().meta({
          description:
            'Parsing worker threads at most, started when a large body arrives. Default: the CPU cores available to the process (`os.availableParallelism()`). `0` parses every body on the event loop.',
          example: 2,
        }),
        queue: z.number().int().min(0).max(100_000).default(32).meta({
          description:
            'Large bodies that may wait for a busy worker thread; beyond it a request is refused at once with 503 `HOOKRELAY_ERR_TRANSFORM_BUSY`. A body waits about `queue` × the time of one parse ÷ `workers`: lower it when you raise the `xml` limits. A `response.transform` step is never refused (the target already has the request): it waits, ahead of request steps.',
          example: 16,
        }),
        idleTimeout: duration(
          'A worker thread idle this long is ended, and its memory returned; the next large body starts one again.',
          '30s',
        ).default(30_000),
        workerMemory: size(
          'Heap of one worker thread (V8 old generation), at least 32 MB. A document whose parse needs more is refused with 413 `HOOKRELAY_ERR_BODY_TOO_COMPLEX` and the thread replaced; the relay itself is not affected.',
          '256mb',
        )
          .refine((bytes) => bytes >= 32 * 1024 * 1024, {
            message: 'must be at least 32mb: a worker thread needs about that to start',
          })
          .default(256 * 1024 * 1024),
      })
      .prefault({})
      .meta({
        description:
          'Large bodies: worker threads that parse XML off the event loop, and turns of the event loop for the rest. See [transforms.md](transforms.md#large-bodies).',
      }),
    log: z
      .strictObject({
        level: z
          .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
          .default('info')
          .meta({ description: 'Log level.' }),
      })
      .prefault({})
      .meta({ description: 'Structured JSON logs on stdout.' }),
    metrics: z
      .strictObject({
        enabled: z.boolean().default(true).meta({ description: 'Serve Prometheus metrics.' }),
        path: z.string().startsWith('/').default('/metrics').meta({ description: 'Metrics path.' }),
      })
      .prefault({})
      .meta({ description: 'Prometheus metrics.' }),
    queue: z
      .strictObject({
        driver: z.enum(['sqlite', 'memory']).default('sqlite').meta({
          description:
            '`sqlite`: durable, one file (node:sqlite, WAL). `memory`: tests and trials only, nothing survives a restart.',
        }),
        path: z
          .string()
          .default('./data/hookrelay.db')
          .meta({ description: 'SQLite file (created with its folder).' }),
        retention: z
          .strictObject({
            delivered: duration('How long delivered records are kept before they are purged.', '7d').default(
              7 * 86_400_000,
            ),
            dead: duration('How long dead letters are kept before they are purged.', '30d').default(
              30 * 86_400_000,
            ),
          })
          .prefault({})
          .meta({ description: 'Automatic purge of finished records.' }),
        maxPending: z
          .number()
          .int()
          .min(1)
          .default(1_000_000)
          .meta({ description: 'Pending deliveries allowed across all routes (503 beyond it).' }),
        maxPendingBytes: size(
          'Bytes of pending deliveries allowed across all routes: bodies and kept attempt history (503 beyond it).',
          '1gb',
        ).default(1024 * 1024 * 1024),
        keepAttempts: z
          .number()
          .int()
          .min(1)
          .max(1_000)
          .default(DEFAULT_KEEP_ATTEMPTS)
          .meta({
            description: `Attempts kept in a delivery's history: the first one and the last \`keepAttempts\`. Those in between are dropped and counted (\`attemptsDropped\` in the admin API), so a delivery retried for a day keeps a bounded history. Each kept attempt counts ${ATTEMPT_ROW_BYTES} bytes plus its error text toward \`maxPendingBytes\`.`,
            example: 10,
          }),
      })
      .prefault({})
      .meta({ description: 'The durable queue behind `async` and `hybrid` routes.' }),
    admin: z
      .strictObject({
        enabled: z
          .boolean()
          .default(true)
          .meta({ description: 'Serve the admin API (deliveries: list, show, replay, purge).' }),
        host: z
          .string()
          .default('127.0.0.1')
          .meta({ description: 'Admin listen address; anything but loopback requires `token`.' }),
        port: z.coerce
          .number()
          .int()
          .min(0)
          .max(65535)
          .default(9090)
          .meta({ description: 'Admin listen port.' }),
        allowedHosts: z
          .array(
            z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._:-]+)$/, {
              message: 'must be a host name or address, without a port',
            }),
          )
          .default([])
          .meta({
            description:
              "Host names (the `Host` header, port ignored) the admin API answers to besides its own address, the loopback names when it listens on loopback, and the machine's names and addresses when it listens on all interfaces: e.g. a proxy or Kubernetes Service name in front of it. Any other `Host` is refused with 403, so a web page that re-binds its own DNS name to this machine cannot read the API.",
            example: ['hookrelay-admin.ops.svc'],
          }),
        token: z.string().min(16).optional().meta({
          description: 'Bearer token for the admin API.',
          example: '${HOOKRELAY_ADMIN_TOKEN}',
          secret: true,
        }),
      })
      .prefault({})
      .meta({ description: 'The admin API, on its own listener.' }),
    defaults: z
      .strictObject({
        timeouts: z
          .strictObject({
            connect: timeoutsFields.connect.default(timeoutsDefaults.connect),
            attempt: timeoutsFields.attempt.default(timeoutsDefaults.attempt),
            deadline: timeoutsFields.deadline.default(timeoutsDefaults.deadline),
          })
          .prefault({}),
        retry: z
          .strictObject({
            attempts: retryFields.attempts.default(retryDefaults.attempts),
            minDelay: retryFields.minDelay.default(retryDefaults.minDelay),
            maxDelay: retryFields.maxDelay.default(retryDefaults.maxDelay),
            maxRetryAfter: retryFields.maxRetryAfter.default(retryDefaults.maxRetryAfter),
            factor: retryFields.factor.default(retryDefaults.factor),
            jitter: retryFields.jitter.default(retryDefaults.jitter),
            retryOn: retryFields.retryOn.default(retryDefaults.retryOn),
          })
          .prefault({}),
        limits: z
          .strictObject({
            body: limitsFields.body.default(limitsDefaults.body),
            response: limitsFields.response.default(limitsDefaults.response),
            jsonDepth: limitsFields.jsonDepth.default(limitsDefaults.jsonDepth),
          })
          .prefault({}),
      })
      .prefault({})
      .meta({ description: 'Timeouts, retry policy and limits for every route; a route overrides any key.' }),
    routes: z.array(routeSchema).min(1, { message: 'at least one route is required' }),
  })
  .superRefine((config, ctx) => {
    if (!Array.isArray(config.routes)) return;
    // Routes that failed validation may hold values of any type here (see `evenAfterErrors`).
    const routes = config.routes.filter(
      (route) =>
        typeof route === 'object' &&
        route !== null &&
        typeof route.id === 'string' &&
        typeof route.path === 'string' &&
        Array.isArray(route.methods),
    );
    const server = config.server;
    if (
      typeof server?.headersTimeout === 'number' &&
      typeof server.requestTimeout === 'number' &&
      server.headersTimeout > server.requestTimeout
    ) {
      // Node refuses this combination: the headers are part of the request.
      ctx.addIssue({
        code: 'custom',
        path: ['server', 'headersTimeout'],
        message: `must not be longer than server.requestTimeout (${server.requestTimeout} ms)`,
      });
    }
    const proxies = server?.perClient?.trustedProxies;
    if (Array.isArray(proxies)) {
      proxies.forEach((cidr, index) => {
        if (typeof cidr === 'string' && !parseCidr(cidr)) {
          ctx.addIssue({
            code: 'custom',
            path: ['server', 'perClient', 'trustedProxies', index],
            message: `invalid address or CIDR '${cidr}'`,
          });
        }
      });
    }
    const rate = server?.minBodyRate;
    if (typeof rate?.grace === 'number' && rate.grace < 100 && rate.bytesPerSecond !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['server', 'minBodyRate', 'grace'],
        message:
          'must be at least 100ms: the rate is measured over this span (set bytesPerSecond to 0 to turn the check off)',
      });
    }
    const admin = config.admin;
    if (admin?.enabled && typeof admin.host === 'string' && !isLoopback(admin.host) && !admin.token) {
      ctx.addIssue({
        code: 'custom',
        path: ['admin', 'token'],
        message: `required when the admin API listens on '${admin.host}' (not loopback): set it from \${HOOKRELAY_ADMIN_TOKEN}`,
      });
    }
    config.routes.forEach((route, index) => {
      if (typeof route !== 'object' || route === null) return;
      if (route.delivery === 'sync' || route.delivery === 'stream') return;
      const attempt = route.timeouts?.attempt ?? config.defaults?.timeouts?.attempt;
      const lease = route.queue === undefined ? ROUTE_QUEUE_DEFAULTS.lease : route.queue.lease;
      if (typeof attempt === 'number' && typeof lease === 'number' && lease <= attempt) {
        ctx.addIssue({
          code: 'custom',
          path: ['routes', index, 'queue', 'lease'],
          message: `must be longer than the attempt timeout (${attempt} ms), or another worker could take over a delivery still in flight`,
        });
      }
    });
    const metricsPath = config.metrics?.enabled === false ? [] : [config.metrics?.path ?? '/metrics'];
    const reserved = ['/healthz', '/readyz', ...metricsPath];
    config.routes.forEach((route, index) => {
      if (!routes.includes(route)) return;
      const base = route.path.replace(/(.)\/$/, '$1');
      const covered = base.endsWith('/*')
        ? reserved.filter((p) => p === base.slice(0, -2) || p.startsWith(base.slice(0, -1)))
        : [];
      if (covered.length > 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['routes', index, 'path'],
          message: `'${route.path}' would cover ${covered.join(', ')}, served by hookrelay itself: use a base path such as '/api/*'`,
        });
      } else if (reserved.includes(base)) {
        ctx.addIssue({
          code: 'custom',
          path: ['routes', index, 'path'],
          message: `'${route.path}' is served by hookrelay itself (${reserved.join(', ')})`,
        });
      }
    });
    const ids = new Map<string, number>();
    const endpoints = new Map<string, number>();
    config.routes.forEach((route, index) => {
      if (!routes.includes(route)) return;
      const first = ids.get(route.id);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['routes', index, 'id'],
          message: `duplicate route id '${route.id}' (also routes[${first}])`,
        });
      } else ids.set(route.id, index);
      let shape: string;
      try {
        shape = parseRoutePath(route.path).shape;
      } catch {
        return;
      }
      for (const m of route.methods) {
        if (typeof m !== 'string') continue;
        const key = `${m.toUpperCase()} ${shape}`;
        const other = endpoints.get(key);
        if (other !== undefined && other !== index) {
          ctx.addIssue({
            code: 'custom',
            path: ['routes', index, 'path'],
            message: `${m} ${route.path} is already handled by routes[${other}]`,
          });
        } else endpoints.set(key, index);
      }
    });
  }, evenAfterErrors)
  .meta({ title: 'hookrelay configuration' });

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type RouteConfig = z.output<typeof routeSchema>;
export type Defaults = Config['defaults'];

/** Loopback addresses: the admin API may listen there without a token. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}
