/**
 * The configuration of the `map` step: exactly one of `fields` (output path → a source path, a
 * constant, a converted source or a template) or `jsonata` (one expression), with `keep` for the
 * first and `timeout` for the second. Everything that can be checked without a request is checked
 * here, at config load: path syntax, conflicting output paths, template and JSONata syntax, so a
 * mistake is a config error at start, not a 422 at the first webhook. The descriptions are the
 * reference docs' (docs/configuration.md is generated from them).
 */
import { z } from 'zod';
import { configCode } from '../core/config-codes.ts';
import { duration } from '../core/fields.ts';
import { jsonataCompiler } from '../core/optional-libs.ts';
import { compileTemplate } from '../core/text-template.ts';
import { type Key, outputConflicts, parseOutputPath, parseSourcePath, TYPES } from './map-fields.ts';
import { JSONATA_STACK, syntaxError } from './map-jsonata.ts';

/** The longest `timeout` a jsonata evaluation may be given, in ms. */
const MAX_TIMEOUT = 60_000;

/** Adds a custom issue when `check` throws; the thrown message is the issue's. */
function refineWith(check: (value: string) => void) {
  return (value: string, ctx: z.core.$RefinementCtx<string>) => {
    try {
      check(value);
    } catch (error) {
      ctx.addIssue({
        code: 'custom',
        params: configCode('HOOKRELAY_CONFIG_INVALID_EXPRESSION'),
        message: (error as Error).message,
      });
    }
  };
}

const sourcePath = z.string().superRefine(refineWith(parseSourcePath)).meta({
  description:
    'Source path into the current value: `$.Order.Id` or `Order.Id`, `items[0].sku`, `["key.with.dots"]`; `$` is the whole value. Request roots: `$query.name`, `$params.name`, `$headers.name`, `$method`, `$path`, `$requestId`.',
  example: '$.Envelope.Body.Order.Id',
});

const fieldObject = z
  .strictObject({
    const: z.unknown().optional().meta({
      description:
        'A constant value (any YAML value). YAML reads numbers as doubles (about 16 significant digits): write a longer one as a string.',
      example: 'sap',
    }),
    from: sourcePath.optional(),
    type: z.enum(TYPES).optional().meta({
      description:
        'Convert the value: `string` (a number as the caller wrote it, `"5738291046618274931"`, `"10.50"`; booleans as `true`/`false`), `number` and `integer` (from a number or a numeric string, with its exact digits, beyond 2^53 too; `integer` as plain digits, `1e3` → `1000`; beyond the range of a double, e.g. `1e400`, does not convert), `boolean` (true/false, 1/0, yes/no, on/off). A value that does not convert fails the request with 422. Without `type` the value is kept as it is (`"00123"` stays a string, a number keeps its digits).',
      example: 'number',
    }),
    default: z.unknown().optional().meta({
      description: 'Used when the source is missing, null or an empty string (not converted).',
      example: 0,
    }),
    required: z.boolean().optional().meta({
      description:
        'Fail the request with 422 when the source is missing, null or empty and there is no `default`. Default: false (the field is left out).',
    }),
    trim: z.boolean().optional().meta({
      description:
        'Trim whitespace around a string before the empty check and the conversion. Default: false.',
    }),
    template: z.string().superRefine(refineWith(compileTemplate)).optional().meta({
      description:
        'A string built from `{{ … }}` placeholders (roots `body` — the current value —, `query`, `params`, `headers`, `method`, `path`, `requestId`).',
      example: '{{ body.order.id }}-{{ params.tenant }}',
    }),
  })
  .superRefine((spec, ctx) => {
    const kinds = (['const', 'from', 'template'] as const).filter((k) => Object.hasOwn(spec, k));
    if (kinds.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        params: configCode('HOOKRELAY_CONFIG_CONFLICT'),
        message:
          kinds.length === 0
            ? 'a field needs one of `from`, `const` or `template`'
            : `a field takes only one of ${kinds.map((k) => `\`${k}\``).join(', ')}`,
      });
      return;
    }
    if (kinds[0] !== 'from') {
      for (const option of ['type', 'default', 'required', 'trim'] as const) {
        if (Object.hasOwn(spec, option)) {
          ctx.addIssue({
            code: 'custom',
            params: configCode('HOOKRELAY_CONFIG_CONFLICT'),
            path: [option],
            message: `\`${option}\` only applies with \`from\``,
          });
        }
      }
    }
  })
  .meta({ description: 'A constant, a converted source or a template.' });

const field = z.union([sourcePath, fieldObject], {
  // The object form's own problems are clearer than zod's "Invalid input" for the whole union.
  error: (issue) => {
    if (issue.code !== 'invalid_union') return undefined;
    const objectIssues = (issue.errors as { path: PropertyKey[]; message: string }[][] | undefined)?.[1];
    if (
      objectIssues &&
      issue.input !== null &&
      typeof issue.input === 'object' &&
      !Array.isArray(issue.input)
    ) {
      return objectIssues
        .map((i) => `${i.path.length ? `${i.path.map(String).join('.')}: ` : ''}${i.message}`)
        .join('; ');
    }
    return 'expected a source path (string) or an object with `from`, `const` or `template`';
  },
});

const fields = z
  .record(z.string(), field)
  .superRefine(
    (map, ctx) => {
      const paths: { text: string; keys: Key[] }[] = [];
      for (const text of Object.keys(map)) {
        try {
          paths.push({ text, keys: parseOutputPath(text) });
        } catch (error) {
          ctx.addIssue({
            code: 'custom',
            params: configCode('HOOKRELAY_CONFIG_INVALID_EXPRESSION'),
            path: [text],
            message: (error as Error).message,
          });
        }
      }
      if (Object.keys(map).length === 0)
        ctx.addIssue({
          code: 'custom',
          params: configCode('HOOKRELAY_CONFIG_INVALID_VALUE'),
          message: 'no fields to map',
        });
      for (const [text, message] of outputConflicts(paths)) {
        ctx.addIssue({
          code: 'custom',
          params: configCode('HOOKRELAY_CONFIG_CONFLICT'),
          path: [text],
          message,
        });
      }
    },
    { when: (payload) => typeof payload.value === 'object' && payload.value !== null },
  )
  .meta({
    description:
      'Output path (`order.id`, `items[0].sku`, `["a.b"]`) → a source path (string), or `{ const }`, or `{ from, type, default, required, trim }`, or `{ template }`. Fields missing from the source are left out.',
    example: {
      'order.id': '$.Envelope.Body.Order.Id',
      'order.tenant': '$params.tenant',
      source: { const: 'sap' },
      amount: { from: 'Total', type: 'number', default: 0 },
      ref: { template: '{{ body.Id }}-{{ params.tenant }}' },
    },
  });

const jsonataExpression = z
  .string()
  .superRefine((text, ctx) => {
    try {
      jsonataCompiler()(text);
    } catch (error) {
      ctx.addIssue({
        code: 'custom',
        params: configCode('HOOKRELAY_CONFIG_INVALID_EXPRESSION'),
        message: syntaxError(text, error),
      });
    }
  })
  .meta({
    description:
      'A [JSONata](https://docs.jsonata.org) expression over the current value, for conditionals, lists, string and date functions. The request is bound as `$query`, `$params`, `$headers`, `$method`, `$path`, `$requestId`. Numbers the expression passes on (and `$string()` of them) keep the digits the caller sent; arithmetic and comparisons work on doubles (docs/transforms.md, Numbers). Compiled at load: a syntax error is a config error.',
    example: '{ "id": Order.Id, "total": $number(Order.Total), "tenant": $params.tenant }',
  });

export const mapSchema = z
  .strictObject({
    type: z.literal('map'),
    fields: fields.optional(),
    keep: z.boolean().default(false).meta({
      description:
        'With `fields`: start from a copy of the current value instead of `{}`, so `fields` only adds or overrides.',
    }),
    jsonata: jsonataExpression.optional(),
    timeout: duration(
      `With \`jsonata\`: the longest an evaluation may run before the request fails with 422 (at most ${MAX_TIMEOUT / 1000}s). Recursion is also bounded (depth ${JSONATA_STACK}).`,
      '1s',
    ).default(1_000),
  })
  .superRefine(
    (config, ctx) => {
      if ((config.fields === undefined) === (config.jsonata === undefined)) {
        ctx.addIssue({
          code: 'custom',
          params: configCode('HOOKRELAY_CONFIG_CONFLICT'),
          message: 'a map step needs exactly one of `fields` or `jsonata`',
        });
      }
      if (typeof config.timeout === 'number' && !(config.timeout > 0 && config.timeout <= MAX_TIMEOUT)) {
        ctx.addIssue({
          code: 'custom',
          params: configCode('HOOKRELAY_CONFIG_OUT_OF_RANGE'),
          path: ['timeout'],
          message: `must be more than 0 and at most ${MAX_TIMEOUT / 1000}s`,
        });
      }
    },
    { when: (payload) => typeof payload.value === 'object' && payload.value !== null },
  )
  .meta({
    title: 'map',
    description:
      'Reshape the current value (a JSON body, or the output of `xml`/`form`) into new JSON: declaratively with `fields`, or with a `jsonata` expression.',
  });

export type MapConfig = z.output<typeof mapSchema>;
/** One entry of `fields`: a source path, or `{ const }`, `{ from, … }` or `{ template }`. */
export type FieldConfig = z.output<typeof field>;
