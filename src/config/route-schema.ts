/**
 * One route of the configuration: the keys every route shares, the delivery modes' own keys
 * (modes/*: `queue`, `dedup`, `hybrid`, `stream`) and the rules that span them.
 */
import { z } from 'zod';
import { authSchema } from '../auth/index.ts';
import { configCode } from '../core/config-codes.ts';
import { headerMap, headerName, METHODS, method } from '../core/fields.ts';
import { parseRoutePath } from '../core/route-path.ts';
import { compileTemplate } from '../core/text-template.ts';
import { tlsSchema } from '../delivery/tls.ts';
import { fetchSchema, lookupFixtureSchema } from '../enrich/index.ts';
import { handshakeRegistry, handshakeSchema } from '../handshakes/index.ts';
import { DELIVERY_TYPES, MODE_KEYS, modeOf } from '../modes/index.ts';
import { parseUrlTemplate } from '../pipeline/url-template.ts';
import { signerSchema } from '../signers/index.ts';
import { transformSchema } from '../transforms/index.ts';
import { verifierSchema } from '../verifiers/index.ts';
import { limits, retry, timeouts } from './defaults-schema.ts';
import { onErrorSchema } from './on-error-schema.ts';
import { answerShape, rulesSchema } from './rules-schema.ts';
import { checkTargets, targetsSchema } from './targets-schema.ts';

/**
 * One step of a transform list: the transform plugins' kinds and the `fetch` step (src/enrich/),
 * one discriminated union, so the reference and the errors list every kind.
 */
export const stepSchema = z
  .discriminatedUnion('type', [...transformSchema.options, fetchSchema])
  .meta({ description: 'One step of a transform list, chosen by `type`.' });

export type StepConfig = z.output<typeof stepSchema>;

const respond = z
  .strictObject({
    ...answerShape,
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

/** What `hookrelay test` expects the relay to answer by itself, nothing forwarded (a handshake). */
const expectAnswer = z
  .strictObject({
    status: z.number().int().min(100).max(599).optional().meta({ description: 'Status code.' }),
    headers: z.record(z.string(), z.string()).optional().meta({
      description: 'Headers that must be present with these values (others may be too).',
    }),
    body: z.string().optional().meta({ description: 'Body, exactly.' }),
    json: z.unknown().optional().meta({ description: 'Body parsed as JSON, deep-equal to this.' }),
  })
  .meta({
    description:
      "The answer the relay gives by itself instead of forwarding (the route's `handshake`), e.g. `{ status: 200, body: <challenge> }`.",
  });

/** What one fan-out target must get, in a test case's `expect.targets`. */
const targetExpect = z
  .strictObject({
    method: method.optional().meta({ description: 'Method sent to this target.' }),
    url: z.string().optional().meta({ description: 'URL of this target, exactly.' }),
    headers: z.record(z.string(), z.string()).optional().meta({
      description: 'Headers this target must get with these values (others may be there too).',
    }),
    body: z.string().optional().meta({ description: 'Body sent to this target, exactly.' }),
    json: z
      .unknown()
      .optional()
      .meta({ description: 'Body sent to this target, parsed as JSON, deep-equal to this.' }),
  })
  .meta({ description: 'The request one target of a fan-out route must get.' });

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
    fetched: z
      .record(z.string(), lookupFixtureSchema)
      .optional()
      .meta({
        description:
          "Answers of the route's `fetch` steps, by their `into` key, so the case runs offline: nothing is looked up.",
        example: { user: { status: 200, json: { email: 'ada@example.com' } } },
      }),
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
        targets: z.record(z.string(), targetExpect).optional().meta({
          description:
            'A fan-out route (`targets`): the request each named target must get; each one named must be chosen for the call.',
        }),
        chosen: z
          .array(z.string())
          .optional()
          .meta({
            description:
              'A fan-out route: exactly the targets chosen for the call, in the order of `targets` (`[]`: none matched, the call is dropped).',
            example: ['erp', 'analytics'],
          }),
        error: z.string().optional().meta({
          description:
            'Expected error code instead of a forwarded request, e.g. HOOKRELAY_ERR_TRANSFORM_FAILED.',
        }),
        rule: z.string().optional().meta({
          description:
            'The name of the rule that must match the call (whatever it does); `none`: no rule may match.',
          example: 'url-verification',
        }),
        status: z.number().int().min(100).max(599).optional().meta({
          description:
            "With `error`: the status the caller gets (e.g. a rule's `refuse.status`); without it, the status of `respond`.",
        }),
        answer: expectAnswer.optional(),
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
      ctx.addIssue({
        code: 'custom',
        params: configCode('HOOKRELAY_CONFIG_CONFLICT'),
        path: ['tls'],
        message: 'only applies to an https:// target URL',
      });
    }
  })
  .meta({ description: 'Where and how the request is forwarded.' });

/**
 * By default zod skips refinements once any field of the object failed a type check or a
 * transform (a bad duration, an unknown method), which would hide the checks below until that is
 * fixed. They run anyway, on the fields that are usable, so every problem is reported at once.
 */
export const evenAfterErrors = {
  when: (payload: z.core.ParsePayload) => typeof payload.value === 'object' && payload.value !== null,
};

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
    handshake: handshakeSchema.optional().meta({
      description:
        "The sender's endpoint handshake (Slack `url_verification`, Meta `hub.challenge`, X CRC, …), answered by the relay and never forwarded; every other call goes on as configured. A GET handshake is accepted on a route whose `methods` lack GET, for the handshake only. See docs/routing.md#provider-handshakes.",
    }),
    forward: forward.optional(),
    targets: targetsSchema(forward).optional(),
    echo: z
      .boolean()
      .optional()
      .meta({ description: modeOf('echo').description }),
    transform: z.array(stepSchema).optional().meta({
      description:
        'Steps applied in order to the request before it is forwarded (XML/form to JSON, mapping, headers, JSON to XML). The content type forwarded follows the last step.',
    }),
    response: z
      .strictObject({
        // The plugins' kinds only: a `fetch` here is refused (the target already has the request).
        transform: z.array(transformSchema).min(1).meta({
          description:
            'Steps applied to a 2xx target answer before the caller gets it (e.g. JSON to an XML acknowledgement).',
        }),
      })
      .optional()
      .meta({ description: 'Reshape the target answer for the caller (synchronous routes).' }),
    delivery: z
      .enum(DELIVERY_TYPES as [string, ...string[]])
      .default('sync')
      .meta({ description: DELIVERY_TYPES.map((type) => modeOf(type).description).join(' ') }),
    ...MODE_KEYS,
    rules: rulesSchema.optional(),
    respond: respond.optional(),
    onError: onErrorSchema.optional(),
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
        ctx.addIssue({
          code: 'custom',
          params: configCode('HOOKRELAY_CONFIG_INVALID_EXPRESSION'),
          path: ['path'],
          message: (error as Error).message,
        });
      }
    }
    // Exactly one of `forward`, `targets`, `echo`; the targets' own rules (targets-schema.ts).
    checkTargets(route, ctx, { params, prefix });
    checkHandshake(route, ctx);
    // The mode's own rules: which keys do not apply to it, which go together (modes/*/index.ts).
    if (route.echo === true) modeOf('echo').check(route, ctx);
    else if (typeof route.delivery === 'string' && DELIVERY_TYPES.includes(route.delivery)) {
      modeOf(route.delivery).check(route, ctx);
    }
    checkRules(route, ctx);
    if (typeof route.respond?.body === 'string') {
      try {
        compileTemplate(route.respond.body);
      } catch (error) {
        ctx.addIssue({
          code: 'custom',
          params: configCode('HOOKRELAY_CONFIG_INVALID_EXPRESSION'),
          path: ['respond', 'body'],
          message: (error as Error).message,
        });
      }
    }
    if (typeof route.forward?.url === 'string') {
      try {
        parseUrlTemplate(route.forward.url, params, prefix);
      } catch (error) {
        ctx.addIssue({
          code: 'custom',
          params: configCode('HOOKRELAY_CONFIG_INVALID_FORMAT'),
          path: ['forward', 'url'],
          message: (error as Error).message,
        });
      }
    }
  }, evenAfterErrors)
  .meta({ description: 'One inbound endpoint and what to do with its calls.' });

export type RouteConfig = z.output<typeof routeSchema>;

/** Rules across the list: names unique, and only where the body is read (not stream, not echo). */
function checkRules(
  route: { rules?: unknown; delivery?: unknown; echo?: unknown; targets?: unknown },
  ctx: z.core.$RefinementCtx,
): void {
  if (!Array.isArray(route.rules)) return;
  if (route.echo === true || route.delivery === 'stream') {
    ctx.addIssue({
      code: 'custom',
      params: configCode('HOOKRELAY_CONFIG_CONFLICT'),
      path: ['rules'],
      message:
        route.echo === true
          ? 'does not apply to an `echo` route (it answers every call by itself)'
          : 'does not apply to `delivery: stream` (the body is never read, so no rule could look at it)',
    });
  }
  const seen = new Set<string>();
  for (const [index, rule] of (route.rules as { name?: unknown; target?: unknown }[]).entries()) {
    if (typeof rule?.name === 'string') {
      if (seen.has(rule.name)) {
        ctx.addIssue({
          code: 'custom',
          params: configCode('HOOKRELAY_CONFIG_DUPLICATE'),
          path: ['rules', index, 'name'],
          message: `rule '${rule.name}' is already defined on this route`,
        });
      }
      seen.add(rule.name);
    }
    // A target named by a rule is checked against the route's targets (targets-schema.ts).
    if (typeof rule?.target === 'string' && route.targets === undefined) {
      ctx.addIssue({
        code: 'custom',
        params: configCode('HOOKRELAY_CONFIG_CONFLICT'),
        path: ['rules', index, 'target'],
        message: "needs the route's `targets` (a list of named targets) to choose from",
      });
    }
  }
}

/**
 * A handshake the provider signs is answered only to a caller that passed `verify`: without
 * `verify` anyone could have the relay answer it, so the route must say how the caller is checked.
 */
function checkHandshake(route: { handshake?: unknown; verify?: unknown }, ctx: z.RefinementCtx): void {
  const parsed = handshakeSchema.safeParse(route.handshake);
  if (route.handshake === undefined || !parsed.success) return;
  if (handshakeRegistry.create(parsed.data).signed && route.verify === undefined) {
    ctx.addIssue({
      code: 'custom',
      params: configCode('HOOKRELAY_CONFIG_INSECURE'),
      path: ['handshake', 'type'],
      message: `'${parsed.data.type}' handshakes are signed by the provider and answered only once the caller passed \`verify\`: add the provider's check to \`verify\` (docs/routing.md#provider-handshakes)`,
    });
  }
}
