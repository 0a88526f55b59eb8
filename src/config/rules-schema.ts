/**
 * A route's `rules` (docs/routing.md#rules): conditions on the verified call, listed in order, the
 * first that matches acts: answer without forwarding, refuse, drop, or choose the target. The
 * checks that span rules (unique names, a `target` that names one of the route's targets) are the
 * route's (route-schema.ts).
 */
import { z } from 'zod';
import { configCode } from '../core/config-codes.ts';
import { headerMap } from '../core/fields.ts';
import { compileTemplate } from '../core/text-template.ts';
import { conditionSchema } from './condition-schema.ts';

/** Statuses a rule may refuse with: the ones a sender reads as "do not send this again". */
export const REFUSE_STATUSES = [400, 401, 403, 404, 409, 410, 422] as const;

const templateBody = (description: string, example: string) =>
  z
    .string()
    .optional()
    .superRefine((text, ctx) => {
      if (typeof text !== 'string') return;
      try {
        compileTemplate(text);
      } catch (error) {
        ctx.addIssue({
          code: 'custom',
          message: (error as Error).message,
          params: configCode('HOOKRELAY_CONFIG_INVALID_EXPRESSION'),
        });
      }
    })
    .meta({ description, example });

/** The keys of an answer the configuration gives (a rule's `answer`, the route's `respond`) besides its body. */
export const answerShape = {
  status: z.number().int().min(200).max(599).default(200).meta({ description: 'Status code.' }),
  headers: headerMap.optional(),
  contentType: z
    .string()
    .optional()
    .meta({ description: 'Content-Type of `body`.', example: 'application/json; charset=utf-8' }),
};

const answer = z
  .strictObject({
    ...answerShape,
    body: templateBody(
      'Body; `{{ path }}` inserts a value of the call (`body.…`, `query.…`, `params.…`, `headers.…`, `method`, `path`, `requestId`).',
      '{"challenge":"{{ body.challenge }}"}',
    ),
  })
  .meta({ description: 'Answer the caller with this; nothing is forwarded.' });

const refuse = z
  .strictObject({
    status: z
      .union(REFUSE_STATUSES.map((s) => z.literal(s)) as [z.ZodLiteral<400>, ...z.ZodLiteral<number>[]])
      .default(403)
      .meta({ description: `Status of the refusal: one of ${REFUSE_STATUSES.join(', ')}.` }),
    message: z
      .string()
      .max(200)
      .optional()
      .meta({ description: 'Said in the error body after the rule name.', example: 'unknown organisation' }),
  })
  .meta({
    description:
      'Refuse the call with `HOOKRELAY_ERR_RULE_REFUSED` (403 unless `status` says otherwise); nothing is forwarded.',
  });

const drop = z
  .union([
    z.literal(true),
    z.strictObject({
      status: z
        .union([z.literal(200), z.literal(202), z.literal(204)])
        .default(200)
        .meta({ description: 'Status of the acknowledgement: 200, 202 or 204.' }),
    }),
  ])
  .meta({
    description:
      'Acknowledge the call and forward nothing (an event type nobody consumes); counted in `hookrelay_rule_matches_total{action="drop"}`. `true` answers 200 with `{"status":"dropped",...}`.',
  });

export const ruleSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, {
        message: 'must be 1-64 letters, digits, ".", "_" or "-" (it is a metrics label)',
      })
      .meta({
        description: 'Names the rule in metrics, logs and `hookrelay test`.',
        example: 'bot-messages',
      }),
    when: conditionSchema
      .optional()
      .meta({ description: 'When the rule acts; without it, always (a catch-all).' }),
    answer: answer.optional(),
    refuse: refuse.optional(),
    drop: drop.optional(),
    target: z.string().optional().meta({
      description: "Deliver only to this one of the route's `targets` (content-based routing).",
      example: 'erp',
    }),
  })
  .superRefine((rule, ctx) => {
    const actions = (['answer', 'refuse', 'drop', 'target'] as const).filter((k) => rule[k] !== undefined);
    if (actions.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        params: configCode(actions.length ? 'HOOKRELAY_CONFIG_CONFLICT' : 'HOOKRELAY_CONFIG_MISSING_KEY'),
        message: `a rule takes exactly one action of \`answer\`, \`refuse\`, \`drop\` or \`target\`${actions.length ? ` (found ${actions.map((a) => `\`${a}\``).join(', ')})` : ''}`,
      });
    }
  })
  .meta({ description: 'A condition and what to do when the call meets it.' });

export type RuleConfig = z.output<typeof ruleSchema>;

export const rulesSchema = z.array(ruleSchema).min(1).meta({
  description:
    "Rules checked in order on the verified call, before the route's `transform` steps except the leading parsing ones (`xml`, `form`), whose value a condition on `body.…` reads; the first that matches acts. A call no rule matches is delivered as usual.",
});
