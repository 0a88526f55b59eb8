/**
 * The keys a route shares with the `defaults` block: timeouts, the retry policy and limits, with
 * their built-in defaults. A route overrides any of them (route-schema.ts).
 */
import { z } from 'zod';
import { duration, size } from '../core/fields.ts';

export const statusOrClass = z
  .union([z.number().int().min(100).max(599), z.string().regex(/^[1-5]xx$/, { message: 'must be like 5xx' })])
  .meta({ description: 'A status code (`503`) or a class (`5xx`).' });

export const timeoutsFields = {
  connect: duration('Time allowed to open a TCP/TLS connection to the target.', '5s'),
  attempt: duration('Time allowed for one attempt: connect, send, and receive the full response.', '10s'),
  deadline: duration(
    'Overall time for all attempts and backoff; the caller never waits longer than this. Sync routes only: a hybrid caller waits `hybrid.budget`, queued deliveries are bounded by `queue.maxAge`.',
    '30s',
  ),
};
export const retryFields = {
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
export const limitsFields = {
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

export const timeouts = z.strictObject(timeoutsFields).partial().meta({ description: 'Timeouts.' });
export const retry = z.strictObject(retryFields).partial().meta({ description: 'Retry policy.' });
export const limits = z
  .strictObject(limitsFields)
  .partial()
  .meta({ description: 'Size and nesting limits.' });

export const defaultsSection = z
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
  .meta({ description: 'Timeouts, retry policy and limits for every route; a route overrides any key.' });
