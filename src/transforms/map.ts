import jsonata from 'jsonata';
import { z } from 'zod';
import { duration } from '../config/fields.ts';
import type { InboundMessage } from '../pipeline/message.ts';
import type { Plugin } from '../registry.ts';
import { failed } from './errors.ts';
import { cloneJson, isJsonObject } from './json.ts';
import {
  convert,
  describeValue,
  type FieldType,
  type Key,
  outputConflicts,
  parseOutputPath,
  parseSourcePath,
  queryObject,
  readPath,
  type SourcePath,
  TYPES,
  writePath,
} from './map-fields.ts';
import { JSONATA_STACK, jsonataStep, syntaxError } from './map-jsonata.ts';
import { payloadValue } from './payload.ts';
import { compileTemplate, renderTemplate, type TemplateScope } from './template.ts';
import type { StepInfo, TransformContext, TransformStep } from './types.ts';

const MAX_TIMEOUT = 60_000;

/** Adds a custom issue when `check` throws; the thrown message is the issue's. */
function refineWith(check: (value: string) => void) {
  return (value: string, ctx: z.core.$RefinementCtx<string>) => {
    try {
      check(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
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
          ctx.addIssue({ code: 'custom', path: [text], message: (error as Error).message });
        }
      }
      if (Object.keys(map).length === 0) ctx.addIssue({ code: 'custom', message: 'no fields to map' });
      for (const [text, message] of outputConflicts(paths)) {
        ctx.addIssue({ code: 'custom', path: [text], message });
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
      jsonata(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: syntaxError(text, error) });
    }
  })
  .meta({
    description:
      'A [JSONata](https://docs.jsonata.org) expression over the current value, for conditionals, lists, string and date functions. The request is bound as `$query`, `$params`, `$headers`, `$method`, `$path`, `$requestId`. Numbers the expression passes on (and `$string()` of them) keep the digits the caller sent; arithmetic and comparisons work on doubles (docs/transforms.md, Numbers). Compiled at load: a syntax error is a config error.',
    example: '{ "id": Order.Id, "total": $number(Order.Total), "tenant": $params.tenant }',
  });

const schema = z
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
          message: 'a map step needs exactly one of `fields` or `jsonata`',
        });
      }
      if (typeof config.timeout === 'number' && !(config.timeout > 0 && config.timeout <= MAX_TIMEOUT)) {
        ctx.addIssue({
          code: 'custom',
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

type MapConfig = z.output<typeof schema>;
type FieldConfig = z.output<typeof field>;

export const mapTransform: Plugin<typeof schema, TransformStep> = {
  type: 'map',
  description: 'Field mapping to JSON: declarative `fields` or a `jsonata` expression.',
  schema,
  create(config: MapConfig, info?: StepInfo) {
    const step = info?.name ?? 'map';
    if (config.jsonata !== undefined) return jsonataStep(config.jsonata, config.timeout, step);
    return fieldsStep(config.fields ?? {}, config.keep, step);
  },
};

// ---------------------------------------------------------------------------------------------
// Declarative fields

interface Request {
  message: InboundMessage;
  input: unknown;
  scope: () => TemplateScope;
}

interface CompiledField {
  out: Key[];
  /** The value to write, or undefined to leave the field out. */
  produce(request: Request): unknown;
}

function fieldsStep(map: Record<string, FieldConfig>, keep: boolean, step: string): TransformStep {
  const compiled = Object.entries(map).map(([name, spec]) => compileField(name, spec, step));
  const rootIsList = typeof compiled[0]?.out[0] === 'number';
  return {
    run(ctx: TransformContext) {
      const input = payloadValue(ctx, step);
      let output: Record<Key, unknown>;
      if (keep) {
        if (rootIsList ? !Array.isArray(input) : !isJsonObject(input)) {
          throw failed(
            step,
            `keep: true needs ${rootIsList ? 'a list' : 'a JSON object'} to start from, got ${describeValue(input)}`,
          );
        }
        output = cloneJson(input) as Record<Key, unknown>;
      } else {
        output = rootIsList ? ([] as unknown as Record<Key, unknown>) : {};
      }
      let scope: TemplateScope | undefined;
      const request: Request = {
        message: ctx.message,
        input,
        scope: () => {
          scope ??= templateScope(ctx.message, input);
          return scope;
        },
      };
      for (const f of compiled) {
        const value = f.produce(request);
        if (value !== undefined) writePath(output, f.out, value);
      }
      ctx.payload = { kind: 'value', value: output };
    },
  };
}

function compileField(name: string, spec: FieldConfig, step: string): CompiledField {
  const out = parseOutputPath(name);
  if (typeof spec === 'string') {
    const source = parseSourcePath(spec);
    return { out, produce: (r) => readSource(r, source) };
  }
  if (spec.template !== undefined) {
    const template = compileTemplate(spec.template);
    return { out, produce: (r) => renderTemplate(template, r.scope()) };
  }
  if (spec.from === undefined) {
    const value = spec.const;
    // Copied per request so no later step can change the configured constant.
    return { out, produce: () => cloneJson(value) };
  }
  const from = spec.from.trim();
  const source = parseSourcePath(from);
  const type: FieldType | undefined = spec.type;
  const fallback = spec.default;
  const required = spec.required === true;
  const trim = spec.trim === true;
  return {
    out,
    produce(r) {
      let value = readSource(r, source);
      if (trim && typeof value === 'string') value = value.trim();
      if (value === undefined || value === null || value === '') {
        if (fallback !== undefined) return cloneJson(fallback);
        if (required) {
          const state = value === undefined ? 'missing' : value === null ? 'null' : 'empty';
          throw failed(step, `field '${name}' is required, but its source '${from}' is ${state}`);
        }
        // Nothing to convert: a missing source leaves the field out, null stays null, and an empty
        // string stays empty as a string (typed as a number or boolean it becomes null).
        if (value === undefined || type === undefined || (type === 'string' && value === '')) return value;
        return null;
      }
      if (type === undefined) return value;
      const converted = convert(value, type);
      if ('error' in converted) throw failed(step, `field '${name}' (from '${from}'): ${converted.error}`);
      return converted.value;
    },
  };
}

function readSource(r: Request, source: SourcePath): unknown {
  const { keys } = source;
  const message = r.message;
  switch (source.root) {
    case 'body':
      return readPath(r.input, keys);
    case 'params':
      return readPath(message.params, keys);
    case 'query': {
      if (keys.length === 0) return queryObject(message.query);
      const all = message.query.getAll(String(keys[0]));
      return readPath(all.length === 0 ? undefined : all.length === 1 ? all[0] : all, keys, 1);
    }
    case 'headers': {
      if (keys.length === 0) return { ...message.headers };
      const value = message.headers[String(keys[0]).toLowerCase()];
      return readPath(Array.isArray(value) ? value.join(', ') : value, keys, 1);
    }
    default:
      return message[source.root];
  }
}

function templateScope(message: InboundMessage, body: unknown): TemplateScope {
  return {
    body: () => body,
    query: message.query,
    params: message.params,
    headers: message.headers,
    method: message.method,
    path: message.path,
    requestId: message.requestId,
  };
}
