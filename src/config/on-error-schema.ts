/**
 * A route's `onError` (docs/routing.md#answers-on-failure): what the caller gets instead of the
 * JSON error when a call fails or is refused, and instead of a target's refusal relayed as it is.
 * Entries are tried in order; the first whose `codes` and `statuses` both match answers.
 */
import { z } from 'zod';
import { configCode } from '../core/config-codes.ts';
import { ERRORS } from '../core/errors.ts';
import { headerMap } from '../core/fields.ts';
import { compileTemplate } from '../core/text-template.ts';
import { statusOrClass } from './defaults-schema.ts';

const CODES = Object.entries(ERRORS)
  .filter(([, spec]) => !('listener' in spec))
  .map(([code]) => code);

const failureAnswer = z
  .strictObject({
    codes: z
      .array(z.string())
      .min(1)
      .optional()
      .superRefine((codes, ctx) => {
        for (const [i, code] of (codes ?? []).entries()) {
          if (!CODES.includes(code)) {
            ctx.addIssue({
              code: 'custom',
              path: [i],
              params: configCode('HOOKRELAY_CONFIG_INVALID_VALUE'),
              message: `unknown error code '${code}' (docs/errors.md lists them)`,
            });
          }
        }
      })
      .meta({
        description:
          "Error codes this entry answers (docs/errors.md); unset: any. A target's refusal relayed to the caller has no code: match it with `statuses`.",
        example: ['HOOKRELAY_ERR_RULE_REFUSED'],
      }),
    statuses: z
      .array(statusOrClass)
      .min(1)
      .optional()
      .meta({
        description:
          "Statuses this entry answers: the error's, or the target's when its refusal (a non-2xx after the retries) would be relayed; unset: any.",
        example: ['4xx'],
      }),
    fromTarget: z.boolean().optional().meta({
      description:
        "true: only a target's refusal (its non-2xx answer, which would be relayed); false: only the relay's own errors; unset: both.",
    }),
    status: z.number().int().min(200).max(599).optional().meta({
      description: "Status of the answer; unset: the error's (or the target's).",
    }),
    headers: headerMap.optional(),
    contentType: z
      .string()
      .optional()
      .meta({ description: 'Content-Type of `body`.', example: 'text/xml; charset=utf-8' }),
    body: z
      .string()
      .optional()
      .superRefine((text, ctx) => {
        if (typeof text !== 'string') return;
        try {
          compileTemplate(text, { failure: true });
        } catch (error) {
          ctx.addIssue({
            code: 'custom',
            params: configCode('HOOKRELAY_CONFIG_INVALID_EXPRESSION'),
            message: (error as Error).message,
          });
        }
      })
      .meta({
        description:
          "Body. Besides the call's values (`body.…`, `headers.…`, `requestId`, …) a `{{ }}` reads `error.code`, `error.message`, `error.status` and, for a target's refusal, `response.status`, `response.headers.…` and `response.body.…` (its body, parsed when it is JSON). Values are inserted as they are: escape nothing the sender could inject into XML by keeping them out of markup, or use a JSON body.",
        example: '{"error":"{{ response.body.message }}","requestId":"{{ requestId }}"}',
      }),
  })
  .meta({ description: 'One shaped answer on failure.' });

export type FailureAnswerConfig = z.output<typeof failureAnswer>;

export const onErrorSchema = z.array(failureAnswer).min(1).meta({
  description:
    "What the caller gets instead of the JSON error when the call fails or is refused (a rule's `refuse`, a failed delivery, a verification failure, …), and instead of a target's refusal: the first entry whose `codes` and `statuses` match answers. The error is still counted and logged with its code. Buffered routes (sync, async, hybrid).",
});
