/**
 * Finds secrets written literally in the config file, so the operator learns before the file is
 * committed or shared. A field is a secret when its schema carries `.meta({ secret: true })` (the
 * flag docs/configuration.md prints); header values sent to the target count too when the header
 * name says credential. The document is the YAML as parsed, before `${…}` interpolation. Only
 * paths come back, never values.
 */
import { z } from 'zod';
import { isSecretHeaderName } from '../core/secret-names.ts';
import type { ConfigPath } from './interpolate.ts';

export interface SecretWarning {
  path: ConfigPath;
  message: string;
}

export const LITERAL_SECRET = 'looks like a secret written literally; use ${VAR} or ${file:/path}';
export const DEFAULT_SECRET =
  'has a literal default (${VAR:-…}) for a secret; use ${VAR} or ${file:/path} without a default';

/** How a string value is built: `${VAR}` / `${file:…}` references, literal defaults, literal text. */
interface Composition {
  references: number;
  defaults: string[];
  literal: string;
}

// `$${` is an escaped literal `${`; anything else in `${…}` is an expression (see interpolate.ts).
const EXPRESSION = /\$\$\{|\$\{([^}]*)\}/g;
const WITH_DEFAULT = /^[A-Za-z_][A-Za-z0-9_]*:-(.*)$/s;

function compose(value: string): Composition {
  const result: Composition = { references: 0, defaults: [], literal: '' };
  let last = 0;
  for (const match of value.matchAll(EXPRESSION)) {
    result.literal += value.slice(last, match.index);
    last = match.index + match[0].length;
    if (match[1] === undefined) {
      result.literal += '${';
      continue;
    }
    const fallback = WITH_DEFAULT.exec(match[1]);
    if (fallback) result.defaults.push(fallback[1]!);
    else result.references++;
  }
  result.literal += value.slice(last);
  return result;
}

/** A secret field: any reference makes it come from outside the file; else any literal text is the secret. */
function judgeSecret(value: string): string | undefined {
  const { references, defaults, literal } = compose(value);
  if (references > 0) return undefined;
  if (defaults.some((d) => d !== '')) return DEFAULT_SECRET;
  return literal.trim() !== '' ? LITERAL_SECRET : undefined;
}

/**
 * A credential header value: `Bearer abc…` or a bare key. Short words (`none`, `jwt`) and
 * `{{ … }}` templates are not secrets; the scheme word before a space is not part of one.
 */
function judgeHeader(value: string): string | undefined {
  if (value.includes('{{')) return undefined;
  const { references, defaults, literal } = compose(value);
  if (references > 0) return undefined;
  if (defaults.some(looksSecret)) return DEFAULT_SECRET;
  return looksSecret(literal) ? LITERAL_SECRET : undefined;
}

function looksSecret(text: string): boolean {
  const credential = text.trim().replace(/^[A-Za-z][\w-]*\s+/, '');
  return credential.length >= 8 && !/\s/.test(credential);
}

type Schema = z.core.$ZodType;

function isSecret(schema: Schema): boolean {
  return (z.globalRegistry.get(schema) as { secret?: unknown } | undefined)?.secret === true;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Literal values of the schema a discriminated union option has for its discriminator. */
function literalValues(schema: Schema | undefined): unknown[] {
  let current = schema;
  while (current) {
    const def = current._zod.def as { type: string; values?: unknown[]; innerType?: Schema };
    if (def.type === 'literal') return def.values ?? [];
    current = def.innerType;
  }
  return [];
}

export function findLiteralSecrets(schema: Schema, document: unknown): SecretWarning[] {
  const found = new Map<string, SecretWarning>();
  const warn = (path: ConfigPath, message: string) => {
    const key = JSON.stringify(path);
    if (!found.has(key)) found.set(key, { path, message });
  };
  visitStrings(schema, document, (path, value, secret) => {
    if (!secret) return;
    const message = judgeSecret(value);
    if (message) warn(path, message);
  });
  for (const warning of credentialHeaders(document)) warn(warning.path, warning.message);
  return [...found.values()];
}

/**
 * Calls `visit` for every string of `document` the schema describes, with its path and whether
 * the schema marks it (or a field around it) `secret`. Discriminated unions are followed by their
 * discriminator; fields the schema does not know are skipped.
 */
export function visitStrings(
  schema: Schema,
  document: unknown,
  visit: (path: ConfigPath, value: string, secret: boolean) => void,
): void {
  // YAML aliases may repeat a node; a cyclic one is cut (the loader reports it anyway).
  const visiting = new Set<unknown>();

  const walk = (node: Schema, value: unknown, path: ConfigPath, secret: boolean): void => {
    const isSecretHere = secret || isSecret(node);
    const def = node._zod.def as unknown as Record<string, unknown> & { type: string };
    switch (def.type) {
      case 'optional':
      case 'nullable':
      case 'default':
      case 'prefault':
      case 'nonoptional':
      case 'readonly':
      case 'catch':
        walk(def.innerType as Schema, value, path, isSecretHere);
        return;
      case 'pipe':
        // The YAML holds the input side.
        walk(def.in as Schema, value, path, isSecretHere);
        return;
      case 'lazy':
        walk((def.getter as () => Schema)(), value, path, isSecretHere);
        return;
      case 'union': {
        const options = def.options as Schema[];
        const discriminator = def.discriminator as string | undefined;
        const candidates =
          discriminator && isRecord(value)
            ? options.filter((option) => {
                const shape = (option._zod.def as { shape?: Record<string, Schema> }).shape;
                return literalValues(shape?.[discriminator]).includes(value[discriminator]);
              })
            : options;
        for (const option of candidates) walk(option, value, path, isSecretHere);
        return;
      }
      case 'intersection':
        walk(def.left as Schema, value, path, isSecretHere);
        walk(def.right as Schema, value, path, isSecretHere);
        return;
      default:
        break;
    }
    if (typeof value === 'string') {
      visit(path, value, isSecretHere);
      return;
    }
    if (value === null || typeof value !== 'object' || visiting.has(value)) return;
    visiting.add(value);
    try {
      if (def.type === 'array' && Array.isArray(value)) {
        value.forEach((item, index) => {
          walk(def.element as Schema, item, [...path, index], isSecretHere);
        });
      } else if (def.type === 'object' && isRecord(value)) {
        const shape = def.shape as Record<string, Schema>;
        for (const [key, item] of Object.entries(value)) {
          if (Object.hasOwn(shape, key)) walk(shape[key]!, item, [...path, key], isSecretHere);
        }
      } else if (def.type === 'record' && isRecord(value)) {
        for (const [key, item] of Object.entries(value)) {
          walk(def.valueType as Schema, item, [...path, key], isSecretHere);
        }
      }
    } finally {
      visiting.delete(value);
    }
  };
  walk(schema, document, [], false);
}

/** Header values hookrelay sends to a target: `forward.headers` and `headers` steps' `set`. */
function credentialHeaders(document: unknown): SecretWarning[] {
  const out: SecretWarning[] = [];
  const routes = isRecord(document) && Array.isArray(document.routes) ? document.routes : [];
  const check = (headers: unknown, path: ConfigPath) => {
    if (!isRecord(headers)) return;
    for (const [name, value] of Object.entries(headers)) {
      if (typeof value !== 'string' || !isSecretHeaderName(name)) continue;
      const message = judgeHeader(value);
      if (message) out.push({ path: [...path, name], message });
    }
  };
  routes.forEach((route: unknown, index) => {
    if (!isRecord(route)) return;
    if (isRecord(route.forward)) check(route.forward.headers, ['routes', index, 'forward', 'headers']);
    if (Array.isArray(route.transform)) {
      route.transform.forEach((step: unknown, i) => {
        if (isRecord(step) && step.type === 'headers')
          check(step.set, ['routes', index, 'transform', i, 'set']);
      });
    }
  });
  return out;
}
