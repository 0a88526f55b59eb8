/**
 * The `fetch` step's configuration: where the lookup goes (url, headers, auth, tls), how long and
 * how often it is tried, how its answer is read and where it is put (`into`), and what the caller
 * is answered for lookup statuses the route handles itself (`answers`). Plus the `fetched` answers
 * a `hookrelay test` case gives in place of lookups.
 */
import { z } from 'zod';
import { authSchema } from '../auth/index.ts';
import { configCode } from '../core/config-codes.ts';
import { duration, headerMap, size } from '../core/fields.ts';
import { compileTemplate } from '../core/text-template.ts';
import { tlsSchema } from '../delivery/tls.ts';
import { parseLookupUrl } from './url.ts';

/** `404` or `4xx`: what a key of `answers` may be (a 2xx is the lookup's success, not an answer). */
export const STATUS_KEY = /^[1345](?:\d\d|xx)$/;

const answer = z
  .strictObject({
    status: z.number().int().min(200).max(599).meta({ description: 'Status the caller gets.', example: 404 }),
    contentType: z
      .string()
      .default('application/json')
      .meta({ description: 'Content-Type of `body`.', example: 'application/json' }),
    headers: headerMap.optional(),
    body: z.string().default('').meta({
      description:
        "Body, a `{{ … }}` template over the payload so far with the lookup's answer under `into` (`{{ body.user.message }}`: the identity API's own message), and the request (`params.…`, `query.…`, `headers.…`, `requestId`).",
      example: '{"error":"unknown user {{ body.id }}","detail":"{{ body.user.message }}"}',
    }),
  })
  .meta({
    description: 'What the caller is answered, without forwarding, when the lookup answers this status.',
  });

const retry = z
  .strictObject({
    attempts: z.number().int().min(1).max(10).default(3).meta({
      description:
        'Attempts in all, the first included (1 = no retry). Retried: network errors and 429, 502, 503, 504.',
      example: 3,
    }),
    minDelay: duration(
      'Backoff before the first retry; doubles after each attempt (jittered).',
      '100ms',
    ).default(100),
    maxDelay: duration('Cap of the backoff, and of a `Retry-After` the lookup answers with.', '1s').default(
      1_000,
    ),
  })
  .meta({ description: "The lookup's retries, all within `timeout`." });

export const fetchSchema = z
  .strictObject({
    type: z.literal('fetch'),
    url: z.string().meta({
      description:
        'Lookup URL. `{body.PATH}` inserts a value of the payload so far, `{params.NAME}`, `{query.NAME}` and `{headers.NAME}` one of the request, percent-encoded, in the path or the query only: the scheme, host and port are fixed. A placeholder without a value fails the call (HOOKRELAY_ERR_FETCH_MISSING_VALUE).',
      example: 'https://id.example.com/users/{body.id}',
    }),
    method: z.literal('GET').default('GET').meta({ description: 'Method of the lookup (it sends no body).' }),
    headers: headerMap.optional().meta({ description: 'Static headers sent with the lookup.' }),
    auth: authSchema.optional().meta({ description: 'Credentials of the lookup: any outbound auth kind.' }),
    tls: tlsSchema.optional(),
    into: z
      .string()
      .regex(/^[A-Za-z_$][\w$-]*$/, { message: 'must be a field name (letters, digits, _, $, -)' })
      .meta({
        description: 'Key of the payload the answer is put under, for the following steps.',
        example: 'user',
      }),
    timeout: duration(
      'Time allowed for the whole lookup: its token, every attempt and the waits.',
      '5s',
    ).default(5_000),
    retry: retry.prefault({}),
    maxResponse: size('Largest lookup answer read (HOOKRELAY_ERR_FETCH_TOO_LARGE beyond it).', '1mb').default(
      1_048_576,
    ),
    parse: z.enum(['auto', 'json', 'xml', 'text']).default('auto').meta({
      description:
        "How the answer is read: `auto` by its Content-Type (JSON, XML, text/*; none: JSON when it parses), or always as `json`, `xml` (hookrelay's XML-to-JSON convention, the `xml` step's defaults) or `text` (a string).",
    }),
    answers: z
      .record(
        z.string().regex(STATUS_KEY, { message: "must be a status like '404' or a class like '4xx'" }),
        answer,
      )
      .optional()
      .meta({
        description:
          "Lookup statuses the route answers the caller itself, without forwarding: an exact status (`'404'`) wins over a class (`'4xx'`).",
        example: { '404': { status: 404, body: '{"error":"unknown user {{ body.id }}"}' } },
      }),
  })
  .superRefine(
    (config, ctx) => {
      if (typeof config.url === 'string') {
        try {
          parseLookupUrl(config.url);
        } catch (error) {
          ctx.addIssue({
            code: 'custom',
            params: configCode('HOOKRELAY_CONFIG_INVALID_FORMAT'),
            path: ['url'],
            message: (error as Error).message,
          });
        }
        if (config.tls && !/^https:/i.test(config.url)) {
          ctx.addIssue({
            code: 'custom',
            params: configCode('HOOKRELAY_CONFIG_CONFLICT'),
            path: ['tls'],
            message: 'only applies to an https:// lookup URL',
          });
        }
      }
      for (const [key, spec] of Object.entries(config.answers ?? {})) {
        if (typeof spec?.body !== 'string') continue;
        try {
          compileTemplate(spec.body);
        } catch (error) {
          ctx.addIssue({
            code: 'custom',
            params: configCode('HOOKRELAY_CONFIG_INVALID_EXPRESSION'),
            path: ['answers', key, 'body'],
            message: (error as Error).message,
          });
        }
      }
      // Run even when another key failed, so every problem is reported at once (route-schema.ts).
    },
    { when: (payload) => typeof payload.value === 'object' && payload.value !== null },
  )
  .meta({
    title: 'fetch',
    description:
      'Calls an API and puts its answer into the payload under `into` (request `transform` lists only; see docs/routing.md). Its failures answer 502/504 and forward nothing; `answers` turns lookup statuses into answers of the route.',
  });

export type FetchConfig = z.output<typeof fetchSchema>;

export const lookupFixtureSchema = z
  .strictObject({
    status: z.number().int().min(100).max(599).default(200).meta({ description: "The lookup's status." }),
    headers: z
      .record(z.string(), z.string())
      .optional()
      .meta({ description: "The lookup's answer headers." }),
    contentType: z.string().optional().meta({
      description: 'Content-Type of the answer (default: application/json with `json`, none with `body`).',
    }),
    body: z.string().optional().meta({ description: 'The answer as text.' }),
    json: z.unknown().optional().meta({ description: 'The answer as JSON.' }),
  })
  .meta({ description: "A lookup's answer, given by the test case instead of asking the API." });
