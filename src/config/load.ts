/**
 * Loading a config: read the file, parse the YAML, interpolate, validate against the schema, and
 * report every problem at once with its line and column; warnings for what is allowed but unwise.
 */
import { readFileSync } from 'node:fs';
import { load as parseYaml, YAMLException } from 'js-yaml';
import type { z } from 'zod';
import { type ConfigCode, isConfigCode } from '../core/config-codes.ts';
import { ConfigError, type ConfigIssue } from '../core/errors.ts';
import { SecretValues } from '../core/secret-values.ts';
import { formatPath, interpolate } from './interpolate.ts';
import { createLocator } from './locate.ts';
import { type Config, configSchema } from './schema.ts';
import { registerSecretValues, secretFieldValues, secretSubstitutions } from './secret-provenance.ts';
import { findLiteralSecrets } from './secrets.ts';

export interface LoadOptions {
  env?: Record<string, string | undefined>;
  readFile?: (path: string) => string;
}

/** A valid config, and what is allowed but unwise in it (e.g. a secret written literally). */
export interface LoadedConfig {
  config: Config;
  warnings: ConfigIssue[];
}

/** Reads, interpolates and validates a config file; every problem is reported at once. */
export function loadConfigFile(file: string, options: LoadOptions = {}): Config {
  return loadConfigWithWarnings(file, options).config;
}

/** As loadConfigFile, with the warnings `start` and `validate` print. */
export function loadConfigWithWarnings(file: string, options: LoadOptions = {}): LoadedConfig {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError([
      {
        file,
        path: '(root)',
        code: 'HOOKRELAY_CONFIG_FILE_UNREADABLE',
        message: `cannot read config file: ${code}`,
      },
    ]);
  }
  return parseConfigWithWarnings(source, file, options);
}

export function parseConfig(source: string, file: string, options: LoadOptions = {}): Config {
  return parseConfigWithWarnings(source, file, options).config;
}

export function parseConfigWithWarnings(
  source: string,
  file: string,
  options: LoadOptions = {},
): LoadedConfig {
  let document: unknown;
  try {
    document = parseYaml(source, { filename: file });
  } catch (error) {
    if (error instanceof YAMLException) {
      const mark = (error as YAMLException & { mark?: { line: number; column: number } }).mark;
      throw new ConfigError([
        {
          file,
          line: mark ? mark.line + 1 : undefined,
          column: mark ? mark.column + 1 : undefined,
          path: '(root)',
          code: 'HOOKRELAY_CONFIG_YAML_SYNTAX',
          message: `invalid YAML: ${(error as Error & { reason?: string }).reason ?? error.message}${flowHint(source, mark?.line)}`,
        },
      ]);
    }
    throw error;
  }
  const locate = createLocator(source);
  const at = (path: (string | number)[], code: ConfigCode, message: string): ConfigIssue => {
    const position = locate(path);
    return { file, line: position?.line, column: position?.column, path: formatPath(path), code, message };
  };

  const interpolated = interpolate(document ?? {}, {
    env: options.env ?? process.env,
    ...(options.readFile ? { readFile: options.readFile } : {}),
  });
  const issues = interpolated.issues.map((issue) => at(issue.path, issue.code, issue.message));
  // Validate even when interpolation failed, so one run reports every problem. A value that could
  // not be interpolated is kept as written; what the schema says about it would only be noise.
  const failed = interpolated.issues.map((issue) => formatPath(issue.path));
  const result = configSchema.safeParse(interpolated.value);
  if (!result.success) {
    const doc = interpolated.value;
    for (const issue of result.error.issues) {
      const path = issueLocation(issue);
      const formatted = formatPath(path);
      if (
        failed.some((f) => formatted === f || formatted.startsWith(`${f}.`) || formatted.startsWith(`${f}[`))
      ) {
        continue;
      }
      issues.push(at(path, issueCode(issue, doc), describe(issue, doc)));
    }
  }
  if (issues.length > 0 || !result.success) throw new ConfigError(issues);
  // What must never be shown, found now that the provenance of every value is known.
  const secrets = new SecretValues([
    ...secretSubstitutions(interpolated.substitutions, (path) => valueAt(interpolated.value, path)),
    ...secretFieldValues(result.data),
  ]);
  registerSecretValues(result.data, secrets);
  // On the document as written: `${VAR}` is still visible there, the values never leave this module.
  const warnings = findLiteralSecrets(configSchema, document ?? {})
    .map((w) => at(w.path, 'HOOKRELAY_CONFIG_LITERAL_SECRET', w.message))
    .sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  return { config: result.data, warnings };
}

function issueLocation(issue: z.core.$ZodIssue): (string | number)[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  // An unknown key is reported on its parent; point at the key itself.
  if (issue.code === 'unrecognized_keys' && issue.keys.length === 1) return [...path, issue.keys[0]!];
  return path;
}

/** The stable code of a schema issue: zod's own kinds mapped to ours, a custom one's from its params. */
export function issueCode(issue: z.core.$ZodIssue, doc: unknown): ConfigCode {
  switch (issue.code) {
    case 'unrecognized_keys':
      return 'HOOKRELAY_CONFIG_UNKNOWN_KEY';
    case 'invalid_type':
      return valueAt(doc, issue.path) === undefined
        ? 'HOOKRELAY_CONFIG_MISSING_KEY'
        : 'HOOKRELAY_CONFIG_INVALID_TYPE';
    case 'invalid_union': {
      const { discriminator, options } = issue as { discriminator?: string; options?: unknown[] };
      if (discriminator && options) {
        return valueAt(doc, issue.path) === undefined
          ? 'HOOKRELAY_CONFIG_MISSING_KEY'
          : 'HOOKRELAY_CONFIG_UNKNOWN_TYPE';
      }
      return 'HOOKRELAY_CONFIG_INVALID_VALUE';
    }
    case 'too_small':
    case 'too_big':
    case 'not_multiple_of':
      return 'HOOKRELAY_CONFIG_OUT_OF_RANGE';
    case 'invalid_format':
      return 'HOOKRELAY_CONFIG_INVALID_FORMAT';
    case 'custom': {
      const code = issue.params?.code;
      return isConfigCode(code) ? code : 'HOOKRELAY_CONFIG_INVALID_VALUE';
    }
    default:
      // invalid_value (not one of the allowed words), invalid_key, invalid_element.
      return 'HOOKRELAY_CONFIG_INVALID_VALUE';
  }
}

function describe(issue: z.core.$ZodIssue, doc: unknown): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
    case 'invalid_type': {
      // zod's own text ("expected string, received undefined") hides that the key is simply missing.
      // The value itself is not quoted: it may be a secret written in the wrong place.
      const value = valueAt(doc, issue.path);
      if (value === undefined) return `required key is missing (expected ${issue.expected})`;
      if ('received' in issue && issue.received === 'NaN')
        return `expected ${issue.expected}, got '${value}'`;
      return `expected ${issue.expected}, got ${typeName(value)}`;
    }
    case 'invalid_key': {
      const key = issue.path[issue.path.length - 1];
      return `invalid key '${String(key)}': ${issue.issues.map((i) => i.message).join('; ')}`;
    }
    case 'invalid_union': {
      // A discriminated union with a bad discriminator: quote the value and name the options.
      const { discriminator, options } = issue as { discriminator?: string; options?: unknown[] };
      if (discriminator && options) {
        const value = valueAt(doc, issue.path);
        const expected = `expected one of: ${options.join(', ')}`;
        return value === undefined
          ? `required key '${discriminator}' is missing, ${expected}`
          : `unknown ${discriminator} '${String(value)}', ${expected}`;
      }
      const note = (issue as { note?: string }).note;
      return note ? `${issue.message} (${note})` : issue.message;
    }
    default:
      return issue.message;
  }
}

function valueAt(doc: unknown, path: readonly PropertyKey[]): unknown {
  let node = doc;
  for (const key of path) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

/**
 * `secrets: [${A}, ${B}]` is the most common way to trip YAML here: inside `[ ]` or `{ }` a `{`
 * opens a mapping, and the parser's complaint names a comma, not the cause.
 */
function flowHint(source: string, line: number | undefined): string {
  const text = line === undefined ? '' : (source.split('\n')[line] ?? '');
  return /[[{,]\s*\$\{/.test(text)
    ? ' (inside [ ] or { }, quote each ${…}: ["${A}", "${B}"], or write a block list with one "- ${A}" per line)'
    : '';
}
