/**
 * The route keys of the queued modes (`async`, and `hybrid`, which queues what it could not deliver
 * in time): `queue`, the route's queue and worker settings, and `dedup`.
 */
import { z } from 'zod';
import { duration, headerName, size } from '../../core/fields.ts';

export const routeQueue = z.strictObject({
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

export const queueKey = routeQueue.optional().meta({
  description:
    'Queue and worker settings of an `async` or `hybrid` route (an error on other routes). Queued retries back off from `minDelay` to `maxDelay` and honour a `Retry-After` up to `maxRetryAfter` (patient defaults: a target may be down for hours, `maxAge` decides when to give up); `retry.factor`, `retry.jitter`, `retry.retryOn`, `timeouts.connect` and `timeouts.attempt` apply as to synchronous attempts, `retry.attempts/minDelay/maxDelay/maxRetryAfter` and `timeouts.deadline` do not (they are errors on an async route).',
});

export const dedupKey = z
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
  });

/** The keys a queued mode owns, for the route schema (config/route-schema.ts). */
export const QUEUED_KEYS = { queue: queueKey, dedup: dedupKey };

export type RouteQueue = z.output<typeof routeQueue>;
export type RouteDedup = NonNullable<z.output<typeof dedupKey>>;

/**
 * A fan-out target's `queue` (docs/routing.md#fan-out): the same keys as a route's, none with a
 * default, so the keys a target leaves out keep the route's values (modes/fanout/targets.ts).
 */
export const targetQueue = z
  .strictObject(
    Object.fromEntries(
      Object.entries(routeQueue.shape).map(([key, schema]) => {
        const inner = schema instanceof z.ZodDefault ? (schema.unwrap() as z.ZodType) : schema;
        return [key, inner.optional().meta(z.globalRegistry.get(schema) ?? {})];
      }),
    ) as { [K in keyof typeof routeQueue.shape]: z.ZodOptional<z.ZodType<RouteQueue[K]>> },
  )
  .optional()
  .meta({
    description:
      "This target's queue and worker settings, over the route's `queue` (a key left out keeps the route's value): its own concurrency, rate limit, attempts, backoff, limits and circuit breaker. On a `sync` route, only for a target that is not the primary (the others are queued).",
  });

export type TargetQueue = NonNullable<z.output<typeof targetQueue>>;
