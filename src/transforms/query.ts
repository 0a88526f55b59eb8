/**
 * `query`: for callbacks that carry everything in the URL (`GET /cb?id=42&status=paid`), the query
 * string and the path parameters become fields of the JSON body, and the forwarded method can be
 * changed (to POST). The forwarded URL keeps the query string unless the route sets
 * `forward.passQuery: false`.
 */
import { z } from 'zod';
import { method } from '../core/fields.ts';
import { isJsonObject, isRawNumber } from '../core/json.ts';
import type { Plugin } from '../core/registry.ts';
import { failed } from './errors.ts';
import { fieldsObject, setOwn } from './form.ts';
import { payloadValue } from './payload.ts';
import type { StepInfo, TransformContext, TransformStep } from './types.ts';

const PATH = /^[^.]+(?:\.[^.]+)*$/;

const schema = z
  .strictObject({
    type: z.literal('query'),
    params: z.boolean().default(true).meta({
      description:
        'Also merge the path parameters (`/in/:tenant/cb` gives `tenant`). A path parameter wins over a query parameter of the same name.',
      example: false,
    }),
    into: z
      .string()
      .regex(PATH, { message: 'must be a dotted path of non-empty keys, e.g. `meta.query`' })
      .optional()
      .meta({
        description:
          'Put the fields under this dotted path of the body (created as needed, merged into an object already there) instead of at its top level.',
        example: 'meta.query',
      }),
    overwrite: z.boolean().default(false).meta({
      description:
        'When a body field and a query/path field have the same name, the query/path value wins. Off: the body field wins.',
      example: true,
    }),
    method: method.optional().meta({
      description:
        'Method to forward with, e.g. POST so a GET callback reaches the target as a POST with a JSON body. Takes precedence over `forward.method`.',
      example: 'POST',
    }),
  })
  .meta({
    title: 'query',
    description:
      'Merge the inbound query string (a repeated name becomes an array) and the path parameters into the JSON body: an empty body becomes an object of them, a JSON object gets them as extra fields; any other body (an array, a string) fails with 422. The forwarded URL still carries the query string unless the route sets `forward.passQuery: false`, which is what you usually want with this step.',
  });

type QueryConfig = z.output<typeof schema>;

export const queryTransform: Plugin<typeof schema, TransformStep> = {
  type: 'query',
  description: 'Query string and path parameters into the JSON body.',
  schema,
  create(config: QueryConfig, info?: StepInfo): TransformStep {
    const step = info?.name ?? 'query';
    const path = config.into?.split('.') ?? [];
    const { overwrite, params } = config;
    const forwardMethod = config.method;
    return {
      run(ctx: TransformContext) {
        const fields = fieldsObject(ctx.message.query);
        if (params) for (const [key, value] of Object.entries(ctx.message.params)) setOwn(fields, key, value);
        const body = payloadValue(ctx, step);
        if (!isJsonObject(body)) {
          throw failed(
            step,
            `the body is ${kind(body)}, not a JSON object the query fields can be merged into`,
          );
        }
        const merge = (target: Record<string, unknown>): Record<string, unknown> => {
          const out = { ...target };
          for (const key in fields) {
            if (overwrite || !Object.hasOwn(out, key)) setOwn(out, key, fields[key]);
          }
          return out;
        };
        ctx.payload = { kind: 'value', value: mergeAt(body, path, 0, merge, step) };
        if (forwardMethod) ctx.method = forwardMethod;
      },
    };
  },
};

/** A copy of `target` with `merge` applied to the object at `path[from…]`, created when missing. */
function mergeAt(
  target: Record<string, unknown>,
  path: string[],
  from: number,
  merge: (target: Record<string, unknown>) => Record<string, unknown>,
  step: string,
): Record<string, unknown> {
  if (from === path.length) return merge(target);
  const key = path[from]!;
  const existing = Object.hasOwn(target, key) ? target[key] : undefined;
  if (existing !== undefined && existing !== null && !isJsonObject(existing)) {
    throw failed(
      step,
      `'${path.slice(0, from + 1).join('.')}' in the body is ${kind(existing)}, not an object the query fields can be merged into`,
    );
  }
  const out = { ...target };
  setOwn(out, key, mergeAt(isJsonObject(existing) ? existing : {}, path, from + 1, merge, step));
  return out;
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return isRawNumber(value) ? 'a number' : `a ${typeof value}`;
}
