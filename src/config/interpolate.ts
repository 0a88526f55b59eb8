/**
 * `${VAR}` and `${file:…}` interpolation of the parsed config document: every string value
 * replaced, every problem reported with its path, and where each substitution landed so its value
 * can be kept secret.
 */
import { readFileSync } from 'node:fs';
import type { ConfigCode } from '../core/config-codes.ts';

/** Location of a value inside the config document: object keys and array indexes. */
export type ConfigPath = (string | number)[];

export interface InterpolationIssue {
  path: ConfigPath;
  code: ConfigCode;
  message: string;
}

/** One `${…}` replaced by a value: where (the string's path), which value, and at what offset. */
export interface Substitution {
  path: ConfigPath;
  value: string;
  /** Offset of the value in the interpolated string. */
  offset: number;
}

export interface InterpolateOptions {
  env: Record<string, string | undefined>;
  /** Reads `${file:...}` secrets; injectable so tests and the loader need no real files. */
  readFile?: (path: string) => string;
}

const VARIABLE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

const readUtf8 = (path: string) => readFileSync(path, 'utf8');

/**
 * Replaces `${VAR}`, `${VAR:-default}` and `${file:/path}` in every string of a parsed document.
 * Every problem is collected so the operator can fix the whole file in one go.
 */
export function interpolate(
  value: unknown,
  options: InterpolateOptions,
): { value: unknown; issues: InterpolationIssue[]; substitutions: Substitution[] } {
  const issues: InterpolationIssue[] = [];
  // What came from outside the file (or from a default): the loader redacts these wherever shown.
  const substitutions: Substitution[] = [];
  const readFile = options.readFile ?? readUtf8;
  // Guards against self-referencing YAML aliases; shared (non-cyclic) aliases are still walked.
  const ancestors = new Set<object>();

  const walk = (node: unknown, path: ConfigPath): unknown => {
    if (typeof node === 'string') return node.includes('$') ? expand(node, path) : node;
    if (node === null || typeof node !== 'object' || ancestors.has(node)) return node;
    ancestors.add(node);
    try {
      if (Array.isArray(node)) return node.map((item, index) => walk(item, [...path, index]));
      const proto = Object.getPrototypeOf(node);
      if (proto !== Object.prototype && proto !== null) return node;
      // fromEntries defines own properties, so a `__proto__` key stays data and cannot set the prototype.
      return Object.fromEntries(Object.entries(node).map(([key, item]) => [key, walk(item, [...path, key])]));
    } finally {
      ancestors.delete(node);
    }
  };

  const expand = (input: string, path: ConfigPath): string => {
    const before = issues.length;
    const substituted = substitutions.length;
    const report = (code: ConfigCode, message: string) => issues.push({ path, code, message });
    let out = '';
    let i = 0;
    while (i < input.length) {
      const dollar = input.indexOf('$', i);
      if (dollar === -1) break;
      out += input.slice(i, dollar);
      if (input.startsWith('$${', dollar)) {
        out += '${';
        i = dollar + 3;
        continue;
      }
      if (input[dollar + 1] !== '{') {
        out += '$';
        i = dollar + 1;
        continue;
      }
      const close = input.indexOf('}', dollar + 2);
      const expression = close === -1 ? input.slice(dollar) : input.slice(dollar, close + 1);
      i = close === -1 ? input.length : close + 1;
      const inner = close === -1 ? '' : input.slice(dollar + 2, close);
      const value = resolve(inner, expression, report);
      if (value !== '') substitutions.push({ path, value, offset: out.length });
      out += value;
    }
    out += input.slice(i);
    // A half-substituted string would hide the problem; keep the original for the error report.
    if (issues.length > before) {
      substitutions.length = substituted;
      return input;
    }
    return out;
  };

  const resolve = (
    inner: string,
    expression: string,
    report: (code: ConfigCode, message: string) => void,
  ): string => {
    const invalid = () => {
      report(
        'HOOKRELAY_CONFIG_INTERPOLATION_SYNTAX',
        `invalid interpolation '${expression}', expected \${VAR}, \${VAR:-default} or \${file:/path}`,
      );
      return '';
    };
    if (inner.startsWith('file:')) {
      const file = inner.slice(5);
      if (file === '' || file.includes('${')) return invalid();
      try {
        // Secret files usually end with the newline an editor or `echo` added; that is never part of the secret.
        return readFile(file).replace(/\r?\n$/, '');
      } catch (error) {
        // Only the code: an error message could echo file content, and this text ends up in logs.
        const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'read error';
        report('HOOKRELAY_CONFIG_SECRET_FILE_UNREADABLE', `cannot read secret file '${file}': ${code}`);
        return '';
      }
    }
    const match = VARIABLE.exec(inner);
    // Nested `${A:-${B}}` is not supported; failing loudly beats a silently mangled value.
    if (!match || inner.includes('${')) return invalid();
    const [, name, fallback] = match;
    const env = Object.hasOwn(options.env, name) ? options.env[name] : undefined;
    if (fallback !== undefined) return env === undefined || env === '' ? fallback : env;
    if (env === undefined)
      report('HOOKRELAY_CONFIG_ENV_NOT_SET', `environment variable '${name}' is not set`);
    return env ?? '';
  };

  return { value: walk(value, []), issues, substitutions };
}

/** `routes[2].forward.url`; keys that are not plain words are quoted: `headers["x.y"]`. */
export function formatPath(path: ConfigPath): string {
  if (path.length === 0) return '(root)';
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}
