/**
 * The declarative form of the `map` step: each configured field is compiled once into a function
 * that produces its value from the request, and each request writes those values into a new
 * document (or a copy of the current value with `keep: true`). Paths and conversions are
 * map-fields.ts'; templates are core/text-template.ts'.
 */
import { cloneJson, isJsonObject } from '../core/json.ts';
import type { InboundMessage } from '../core/message.ts';
import { compileTemplate, renderTemplate, requestScope, type TemplateScope } from '../core/text-template.ts';
import { failed } from './errors.ts';
import {
  convert,
  describeValue,
  type FieldType,
  type Key,
  parseOutputPath,
  parseSourcePath,
  queryObject,
  readPath,
  type SourcePath,
  writePath,
} from './map-fields.ts';
import type { FieldConfig } from './map-schema.ts';
import { payloadValue } from './payload.ts';
import type { TransformContext, TransformStep } from './types.ts';

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

export function fieldsStep(map: Record<string, FieldConfig>, keep: boolean, step: string): TransformStep {
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
          scope ??= requestScope(ctx.message, () => input);
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
