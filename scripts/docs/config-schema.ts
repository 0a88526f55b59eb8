/**
 * The config schema as the configuration reference and the editor schema see it: zod's JSON Schema
 * of `configSchema`, walked into sections (objects, one per variant of a `type` union) and their
 * fields, and the wording of a field's type, constraints and default as a user writes them.
 */
import { dump } from 'js-yaml';
import { z } from 'zod';
import { code, slug } from './markdown.ts';
import { configSchema, formatDuration, formatSize, headerName } from './sources.ts';

/** The subset of JSON Schema that zod emits for our config. */
export interface JsonSchema {
  $schema?: string;
  $comment?: string;
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  definitions?: Record<string, JsonSchema>;
  title?: string;
  type?: string | string[];
  description?: string;
  default?: unknown;
  example?: unknown;
  examples?: unknown[];
  format?: string;
  secret?: boolean;
  /** The field's example is shown on its own, not in its step's combined example (it conflicts). */
  exampleAlone?: boolean;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  minItems?: number;
  pattern?: string;
  'x-coerce'?: boolean;
}

/** Marks numbers that zod coerces (e.g. `server.port`), so `${PORT}` is documented as accepted. */
function markCoerced(ctx: { zodSchema: unknown; jsonSchema: object }): void {
  const def = (ctx.zodSchema as { _zod?: { def?: { type?: string; coerce?: boolean } } })._zod?.def;
  if (def?.type === 'number' && def.coerce) (ctx.jsonSchema as JsonSchema)['x-coerce'] = true;
}

/** zod's JSON Schema of the config, as it is written (`input`) or as it is after defaults (`output`). */
export function toJsonSchema(io: 'input' | 'output', target?: 'draft-07'): JsonSchema {
  return z.toJSONSchema(configSchema, {
    io,
    unrepresentable: 'any',
    override: markCoerced,
    ...(target ? { target } : {}),
  }) as JsonSchema;
}

const HEADER_NAME_PATTERN = (z.toJSONSchema(headerName) as JsonSchema).pattern;

export function resolve(schema: JsonSchema | undefined, root: JsonSchema): JsonSchema | undefined {
  if (!schema?.$ref) return schema;
  const name = schema.$ref.replace(/^#\/(\$defs|definitions)\//, '');
  return root.$defs?.[name] ?? root.definitions?.[name];
}

const isObject = (s: JsonSchema | undefined): boolean =>
  s !== undefined && s.type === 'object' && s.properties !== undefined;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

// ---------------------------------------------------------------------------------------------
// Walking the schema into sections and fields

export interface Field {
  key: string;
  path: string;
  /** Heading text and anchor for fields that get their own entry (scalars, lists of scalars, maps). */
  anchor: string;
  schema: JsonSchema;
  output: JsonSchema | undefined;
  required: boolean;
  /** Object-valued fields are documented as their own section. */
  section: Section | undefined;
}

export interface Section {
  path: string;
  /** For a `type`-discriminated union: the variant's `type` value. */
  variant: string | undefined;
  heading: string;
  anchor: string;
  schema: JsonSchema;
  fields: Field[];
  /** Set on a union: one section per variant. */
  variants: Section[];
}

/** Every object of the schema as a section, depth first from the root (path `''`). */
export function walk(root: JsonSchema, outputRoot: JsonSchema): Section[] {
  const sections: Section[] = [];
  // Schemas being walked: a recursive one (a condition's `all`, `any`, `not`) is documented once,
  // where it first appears, not walked into again.
  const open = new Set<JsonSchema>();

  const section = (
    path: string,
    schema: JsonSchema,
    output: JsonSchema | undefined,
    variant?: string,
  ): Section => {
    const heading = variant ? `\`${path}\` with \`type: ${variant}\`` : `\`${path}\``;
    const result: Section = {
      path,
      variant,
      heading,
      anchor: slug(heading),
      schema,
      fields: [],
      variants: [],
    };
    sections.push(result);
    open.add(schema);
    try {
      walkInto(result, path, schema, output, variant);
    } finally {
      open.delete(schema);
    }
    return result;
  };

  const walkInto = (
    result: Section,
    path: string,
    schema: JsonSchema,
    output: JsonSchema | undefined,
    variant: string | undefined,
  ): void => {
    const union = schema.oneOf ?? (schema.anyOf?.every(isObject) ? schema.anyOf : undefined);
    if (union) {
      const outputUnion = output?.oneOf ?? output?.anyOf;
      union.forEach((member, index) => {
        const m = resolve(member, root)!;
        const name = String(m.properties?.type?.const ?? m.title ?? index);
        result.variants.push(section(path, m, resolve(outputUnion?.[index], outputRoot), name));
      });
      return;
    }
    const required = new Set(schema.required ?? []);
    for (const [key, raw] of Object.entries(schema.properties ?? {})) {
      const child = resolve(raw, root)!;
      const childOutput = resolve(output?.properties?.[key], outputRoot);
      if (variant && key === 'type') continue;
      const childPath = path === '' ? key : `${path}.${key}`;
      const items = child.type === 'array' ? resolve(child.items, root) : undefined;
      let nested: Section | undefined;
      if (open.has(child) || (items && open.has(items))) nested = undefined;
      else if (isObject(child) || child.oneOf) nested = section(childPath, child, childOutput);
      else if (items && (isObject(items) || items.oneOf)) {
        nested = section(`${childPath}[]`, items, resolve(childOutput?.items, outputRoot));
      }
      const heading = variant ? `\`${childPath}\` (${variant})` : `\`${childPath}\``;
      result.fields.push({
        key,
        path: childPath,
        anchor: nested ? nested.anchor : slug(heading),
        schema: child,
        output: childOutput,
        required: required.has(key),
        section: nested,
      });
    }
  };

  section('', root, outputRoot);
  return sections;
}

// ---------------------------------------------------------------------------------------------
// Rendering values

/** One-line YAML, as a user would type it. */
export function yamlInline(value: unknown): string {
  return dump(value, { flowLevel: 0, lineWidth: -1 }).trim();
}

/** `key: value` on one line with the value in flow style: a field's example. */
export function yamlEntry(key: string, value: unknown): string {
  return dump({ [key]: value }, { flowLevel: 1, lineWidth: -1 }).trim();
}

/** A field's type in words, linking durations and sizes to their explanation. */
export function describeType(s: JsonSchema, output: JsonSchema | undefined): string {
  if (s.format === 'duration') return '[duration](#durations-and-sizes)';
  if (s.format === 'size') return '[size](#durations-and-sizes)';
  if (s.oneOf) {
    const names = s.oneOf.map((m) => String(m.properties?.type?.const ?? m.title));
    return `object, by \`type\`: ${names.map((n) => code(n)).join(', ')}`;
  }
  if (s.const !== undefined) return code(yamlInline(s.const));
  const values = s.enum ?? output?.enum;
  if (values) return `one of ${values.map((v) => code(String(v))).join(', ')}`;
  if (s.pattern !== undefined && s.pattern === HEADER_NAME_PATTERN) return 'header name';
  if (s.anyOf) return s.anyOf.map((m) => describeType(m, undefined)).join(' or ');
  if (s.type === 'array' && s.items) {
    const item = describeType(s.items, output?.items);
    return `list of ${s.items.anyOf ? `(${item})` : item}`;
  }
  if (s.type === 'object' && isPlainObject(s.additionalProperties)) {
    const key = s.propertyNames ? describeType(s.propertyNames, undefined) : 'string';
    return `map of ${key} to ${describeType(s.additionalProperties, undefined)}`;
  }
  if (Array.isArray(s.type)) return s.type.join(' or ');
  return s.type ?? 'any';
}

/** A field's range, length and pattern rules in words. */
export function constraints(s: JsonSchema): string[] {
  const out: string[] = [];
  if (s.minimum !== undefined && s.maximum !== undefined) out.push(`from ${s.minimum} to ${s.maximum}`);
  else if (s.minimum !== undefined) out.push(`at least ${s.minimum}`);
  else if (s.maximum !== undefined) out.push(`at most ${s.maximum}`);
  if (s.minLength === 1) out.push('not empty');
  else if (s.minLength !== undefined) out.push(`at least ${s.minLength} characters`);
  if (s.minItems !== undefined) out.push(`at least ${s.minItems} item${s.minItems === 1 ? '' : 's'}`);
  if (s.format === 'starts_with' && s.pattern) {
    out.push(
      `starts with ${code(s.pattern.replace(/^\^/, '').replace(/\.\*$/, '').replace(/\\(.)/g, '$1'))}`,
    );
  } else if (s.pattern !== undefined && s.pattern !== HEADER_NAME_PATTERN) {
    out.push(`matches ${code(s.pattern)}`);
  }
  return out;
}

/** The default in the form a user writes it (`10s`, not 10000); undefined when there is none. */
export function defaultValue(s: JsonSchema, output: JsonSchema | undefined): string | undefined {
  const value = s.default !== undefined ? s.default : output?.default;
  if (value === undefined) return undefined;
  if (isPlainObject(value) && Object.keys(value).length === 0) return undefined;
  if (s.format === 'duration' && typeof value === 'number') return formatDuration(value);
  if (s.format === 'size' && typeof value === 'number') return formatSize(value);
  return yamlInline(value);
}
