import { readFileSync } from 'node:fs';
import { load as parseYaml, YAMLException } from 'js-yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../errors.ts';
import { formatPath, interpolate } from './interpolate.ts';
import { createLocator } from './locate.ts';
import { type Config, configSchema } from './schema.ts';

export interface LoadOptions {
  env?: Record<string, string | undefined>;
  readFile?: (path: string) => string;
}

/** Reads, interpolates and validates a config file; every problem is reported at once. */
export function loadConfigFile(file: string, options: LoadOptions = {}): Config {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError([{ file, path: '(root)', message: `cannot read config file: ${code}` }]);
  }
  return parseConfig(source, file, options);
}

export function parseConfig(source: string, file: string, options: LoadOptions = {}): Config {
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
          message: `invalid YAML: ${(error as Error & { reason?: string }).reason ?? error.message}`,
        },
      ]);
    }
    throw error;
  }
  const locate = createLocator(source);
  const at = (path: (string | number)[], message: string): ConfigIssue => {
    const position = locate(path);
    return { file, line: position?.line, column: position?.column, path: formatPath(path), message };
  };

  const interpolated = interpolate(document ?? {}, {
    env: options.env ?? process.env,
    ...(options.readFile ? { readFile: options.readFile } : {}),
  });
  if (interpolated.issues.length > 0) {
    throw new ConfigError(interpolated.issues.map((issue) => at(issue.path, issue.message)));
  }
  const result = configSchema.safeParse(interpolated.value);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => at(issueLocation(issue), describe(issue))));
  }
  return result.data;
}

function issueLocation(issue: z.core.$ZodIssue): (string | number)[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  // An unknown key is reported on its parent; point at the key itself.
  if (issue.code === 'unrecognized_keys' && issue.keys.length === 1) return [...path, issue.keys[0]!];
  return path;
}

function describe(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
    case 'invalid_union': {
      // A discriminated union with a bad discriminator: name the options.
      const note = (issue as { note?: string }).note;
      return note ? `${issue.message} (${note})` : issue.message;
    }
    default:
      return issue.message;
  }
}
