/**
 * The schema of a condition (a rule's `when`, a target's `when`): one test of one field (`field`
 * with `equals`, `in`, `exists`, `matches` or numeric bounds), a combination (`all`, `any`, `not`)
 * or a `jsonata` expression. Everything that can be checked at load is: the field's path, the
 * regular expression (and that it cannot backtrack catastrophically), the JSONata syntax.
 */
import { z } from 'zod';
import { configCode } from '../core/config-codes.ts';
import { compilePath } from '../core/text-template.ts';
import { type ConditionConfig, checkJsonataCondition } from '../pipeline/conditions.ts';

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

const FIELD_OPERATORS = ['equals', 'in', 'exists', 'matches'] as const;
const BOUNDS = ['gt', 'gte', 'lt', 'lte'] as const;
const FORMS = ['field', 'all', 'any', 'not', 'jsonata'] as const;

const invalid = (ctx: z.core.$RefinementCtx, path: string[], message: string) =>
  ctx.addIssue({ code: 'custom', path, message, params: configCode('HOOKRELAY_CONFIG_INVALID_EXPRESSION') });

export const conditionSchema: z.ZodType<ConditionConfig> = z
  .strictObject({
    field: z.string().optional().meta({
      description:
        'The value tested: a path as in templates (`body.event.type`, `headers.x-event`, `query.id`, `params.tenant`, `method`, `path`). A missing field makes the test false.',
      example: 'body.event.type',
    }),
    equals: scalar.optional().meta({
      description:
        'True when the field equals this value (a number also matches the same number written as text).',
    }),
    in: z
      .array(scalar)
      .min(1)
      .optional()
      .meta({ description: 'True when the field equals one of these values.' }),
    exists: z
      .boolean()
      .optional()
      .meta({ description: 'true: the field is present (and not null); false: it is not.' }),
    matches: z.string().optional().meta({
      description:
        'True when the field (a string or number) matches this regular expression (JavaScript syntax, Unicode; anchor it with `^…$` to match the whole value). Nested quantifiers such as `(a+)+` are refused: they can take exponential time on a crafted value.',
      example: '^order\\.(created|updated)$',
    }),
    gt: z
      .number()
      .optional()
      .meta({ description: 'True when the field is a number (or numeric text) greater than this.' }),
    gte: z.number().optional().meta({ description: 'Greater than or equal.' }),
    lt: z.number().optional().meta({ description: 'Less than.' }),
    lte: z.number().optional().meta({ description: 'Less than or equal.' }),
    get all(): z.ZodOptional<z.ZodArray<z.ZodType<ConditionConfig>>> {
      return z
        .array(conditionSchema)
        .min(1)
        .optional()
        .meta({ description: 'True when every condition is.' });
    },
    get any(): z.ZodOptional<z.ZodArray<z.ZodType<ConditionConfig>>> {
      return z
        .array(conditionSchema)
        .min(1)
        .optional()
        .meta({ description: 'True when at least one condition is.' });
    },
    get not(): z.ZodOptional<z.ZodType<ConditionConfig>> {
      return conditionSchema.optional().meta({ description: 'True when the condition is false.' });
    },
    jsonata: z.string().optional().meta({
      description:
        'A JSONata expression over the body, with `$headers`, `$query`, `$params`, `$method`, `$path` bound; true when its result is truthy. Stopped after 1 s.',
      example: 'body.amount > 1000 and $headers."x-env" = "prod"',
    }),
  })
  .superRefine((c, ctx) => {
    const forms = FORMS.filter((k) => c[k] !== undefined);
    if (forms.length !== 1) {
      invalid(
        ctx,
        [],
        forms.length === 0
          ? 'a condition needs one of `field` (with an operator), `all`, `any`, `not` or `jsonata`'
          : `a condition has exactly one of \`field\`, \`all\`, \`any\`, \`not\`, \`jsonata\` (found ${forms.map((f) => `\`${f}\``).join(', ')}): combine several with \`all\``,
      );
      return;
    }
    const operators = FIELD_OPERATORS.filter((k) => c[k] !== undefined);
    const bounds = BOUNDS.filter((k) => c[k] !== undefined);
    if (c.field === undefined) {
      for (const k of [...operators, ...bounds]) invalid(ctx, [k], 'only applies with `field`');
      if (typeof c.jsonata === 'string') {
        const problem = checkJsonataCondition(c.jsonata);
        if (problem) invalid(ctx, ['jsonata'], problem);
      }
      return;
    }
    try {
      compilePath(c.field);
    } catch (error) {
      invalid(ctx, ['field'], (error as Error).message.replace('template expression', 'field'));
    }
    if (operators.length + (bounds.length > 0 ? 1 : 0) !== 1) {
      invalid(
        ctx,
        [],
        `\`field\` takes exactly one of \`equals\`, \`in\`, \`exists\`, \`matches\` or numeric bounds (\`gt\`, \`gte\`, \`lt\`, \`lte\`, which combine)${operators.length ? ` (found ${operators.map((o) => `\`${o}\``).join(', ')}${bounds.length ? ' and bounds' : ''})` : ''}`,
      );
    }
    if (typeof c.matches === 'string') {
      const problem = regexProblem(c.matches);
      if (problem) invalid(ctx, ['matches'], problem);
    }
  })
  .meta({
    id: 'condition',
    description:
      'A condition on the call: `{ field, equals | in | exists | matches | gt/gte/lt/lte }`, `{ all: [...] }`, `{ any: [...] }`, `{ not: {...} }` or `{ jsonata: "..." }`.',
  });

/** Why a `matches` pattern is refused: not a valid expression, or one with nested quantifiers. */
export function regexProblem(source: string): string | undefined {
  try {
    new RegExp(source, 'u');
  } catch (error) {
    return (error as Error).message;
  }
  return nestedQuantifier(source)
    ? `'${source}' repeats a group that itself repeats (like \`(a+)+\`): it can take exponential time on a crafted value; write it without the nesting`
    : undefined;
}

/**
 * Star height above one: a quantified group whose contents hold a quantifier. The classic shape
 * of catastrophic backtracking (safe-regex's test), found by a scan that skips escapes and classes.
 */
function nestedQuantifier(source: string): boolean {
  const stack: boolean[] = [];
  let inner = false;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i]!;
    if (ch === '\\') {
      i++;
      if (isQuantifier(source, i + 1)) inner = true;
      continue;
    }
    if (ch === '[') {
      while (i < source.length && source[i] !== ']') i += source[i] === '\\' ? 2 : 1;
      if (isQuantifier(source, i + 1)) inner = true;
      continue;
    }
    if (ch === '(') {
      stack.push(inner);
      inner = false;
      continue;
    }
    if (ch === ')') {
      const held = inner;
      inner = stack.pop() ?? false;
      if (isQuantifier(source, i + 1)) {
        if (held) return true;
        inner = true;
      } else if (held) inner = true;
      continue;
    }
    if (isQuantifier(source, i + 1)) inner = true;
  }
  return false;
}

function isQuantifier(source: string, at: number): boolean {
  const ch = source[at];
  if (ch === '*' || ch === '+') return true;
  if (ch === '{') return /^\{\d+(,\d*)?\}/.test(source.slice(at));
  return false;
}
