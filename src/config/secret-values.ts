import type { ConfigPath, Substitution } from './interpolate.ts';
import { type Config, configSchema } from './schema.ts';
import { visitStrings } from './secrets.ts';

/**
 * The values of a loaded configuration that must never be shown: whatever a `${VAR}` or
 * `${file:…}` put into a route (static headers, header steps, mapped constants, query parameters
 * of `forward.url`, …) and every field the schema marks `secret`, wherever it came from. Names
 * cannot tell a credential apart (`X-Session`, `Ocp-Apim-Subscription-Key`, `X-Api_Key`): the
 * provenance of the value can. `hookrelay try`/`test`, the admin API, `hookrelay deliveries` and the
 * echo route replace each occurrence (also percent-encoded, form-encoded, JSON- or XML-escaped)
 * with `<redacted>`.
 */

export const REDACTED = '<redacted>';

/** Shorter values are not searched for: a 2-character "secret" would blank out half the output. */
export const MIN_SECRET_LENGTH = 4;

/** Route fields that shape the route itself and never appear in what is shown. */
const STRUCTURAL = new Set(['id', 'path', 'methods', 'delivery']);

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const XML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/** How a value may appear in a URL, a form, a JSON or an XML body. */
function forms(value: string): string[] {
  const out = new Set([value]);
  out.add(encodeURIComponent(value));
  out.add(new URLSearchParams([['', value]]).toString().slice(1));
  // As a server reads it when the value was written into a URL as is (`+` is a space there).
  out.add(new URLSearchParams(`k=${value.replaceAll('&', '%26').replaceAll('#', '%23')}`).get('k') ?? value);
  out.add(JSON.stringify(value).slice(1, -1));
  out.add(value.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!));
  return [...out];
}

export class SecretValues {
  static readonly none = new SecretValues([]);
  readonly #pattern: RegExp | undefined;
  readonly size: number;

  constructor(values: Iterable<string>) {
    const unique = new Set<string>();
    for (const value of values) if (value.length >= MIN_SECRET_LENGTH) unique.add(value);
    this.size = unique.size;
    const needles = [...new Set([...unique].flatMap(forms))].sort((a, b) => b.length - a.length);
    this.#pattern = needles.length ? new RegExp(needles.map(escapeRegExp).join('|'), 'g') : undefined;
  }

  /** The text with every occurrence of a secret value replaced by `<redacted>`. */
  redact(text: string): string {
    if (!this.#pattern) return text;
    return text.replace(this.#pattern, REDACTED);
  }

  contains(text: string): boolean {
    if (!this.#pattern) return false;
    this.#pattern.lastIndex = 0;
    return this.#pattern.test(text);
  }

  /** A header map (or any string map) with each value redacted. */
  redactAll(values: Readonly<Record<string, string>>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const name of Object.keys(values)) out[name] = this.redact(values[name]!);
    return out;
  }
}

const registered = new WeakMap<Config, SecretValues>();

/**
 * The secret values the loader found while interpolating `config` (see `fromSubstitutions`), or,
 * for a config built without the loader, those of the fields the schema marks `secret`.
 */
export function secretValuesOf(config: Config): SecretValues {
  let values = registered.get(config);
  if (!values) {
    values = new SecretValues(secretFieldValues(config));
    registered.set(config, values);
  }
  return values;
}

export function registerSecretValues(config: Config, values: SecretValues): void {
  registered.set(config, values);
}

/** Strings of fields marked `secret` in the schema (verifier secrets, tokens, keys, …). */
export function secretFieldValues(config: unknown): string[] {
  const out: string[] = [];
  visitStrings(configSchema, config, (_path, value, secret) => {
    if (secret) out.push(value);
  });
  return out;
}

/**
 * Which substitutions are secret: everything inside a route except its structural fields, and only
 * what follows the `?` of `forward.url` (the scheme, host and path say where a request goes, which
 * `try` must show). Settings outside routes (ports, paths, log level) are not secrets.
 */
export function secretSubstitutions(
  substitutions: readonly Substitution[],
  valueAt: (path: ConfigPath) => unknown,
): string[] {
  const out: string[] = [];
  for (const { path, value, offset } of substitutions) {
    if (path[0] !== 'routes' || path.length < 3) continue;
    if (path.length === 3 && STRUCTURAL.has(String(path[2]))) continue;
    if (path[2] === 'methods') continue;
    if (path.length === 4 && path[2] === 'forward' && path[3] === 'url') {
      const url = valueAt(path);
      const query = typeof url === 'string' ? url.indexOf('?') : -1;
      if (query === -1 || offset < query) continue;
    }
    out.push(value);
  }
  return out;
}
