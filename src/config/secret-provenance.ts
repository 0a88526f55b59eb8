/**
 * Which values of a loaded configuration must never be shown (core/secret-values.ts hides them):
 * whatever a `${VAR}` or `${file:…}` put into a route (static headers, header steps, mapped
 * constants, query parameters of `forward.url`, …) and every field the schema marks `secret`,
 * wherever it came from. Names cannot tell a credential apart (`X-Session`, `Ocp-Apim-
 * Subscription-Key`, `X-Api_Key`): the provenance of the value can. `hookrelay try`/`test`, the
 * admin API, `hookrelay deliveries` and the echo route replace each occurrence (also percent-
 * encoded, form-encoded, JSON- or XML-escaped) with `<redacted>`.
 */
import { SecretValues } from '../core/secret-values.ts';
import type { ConfigPath, Substitution } from './interpolate.ts';
import { type Config, configSchema } from './schema.ts';
import { visitStrings } from './secrets.ts';

/** Route fields that shape the route itself and never appear in what is shown. */
const STRUCTURAL = new Set(['id', 'path', 'methods', 'delivery']);

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
 * what follows the `?` of a URL the relay calls (`forward.url`, a target's, a `fetch` step's: the
 * scheme, host and path say where a request goes, which `try` must show), and what is substituted into `queue.redis` (a `${REDIS_URL}` carries its
 * password). Other settings outside routes (ports, paths, log level) are not secrets.
 */
export function secretSubstitutions(
  substitutions: readonly Substitution[],
  valueAt: (path: ConfigPath) => unknown,
): string[] {
  const out: string[] = [];
  for (const { path, value, offset } of substitutions) {
    // Redis's URL (credentials in it), user, password and keys; not the prefix, which names keys.
    if (path[0] === 'queue' && path[1] === 'redis' && path[2] !== 'prefix') {
      out.push(value);
      continue;
    }
    if (path[0] !== 'routes' || path.length < 3) continue;
    if (path.length === 3 && STRUCTURAL.has(String(path[2]))) continue;
    if (path[2] === 'methods') continue;
    if (isTargetUrl(path, valueAt)) {
      const url = valueAt(path);
      const query = typeof url === 'string' ? url.indexOf('?') : -1;
      if (query === -1 || offset < query) continue;
    }
    out.push(value);
  }
  return out;
}

/** `routes[i].forward.url`, `routes[i].targets[j].forward.url`, or the `url` of a `fetch` step. */
function isTargetUrl(path: ConfigPath, valueAt: (path: ConfigPath) => unknown): boolean {
  if (path.length === 4) return path[2] === 'forward' && path[3] === 'url';
  if (path.length === 6) return path[2] === 'targets' && path[4] === 'forward' && path[5] === 'url';
  if (path.length === 5 && path[2] === 'transform' && path[4] === 'url') {
    const step = valueAt(path.slice(0, 4));
    return typeof step === 'object' && step !== null && (step as { type?: unknown }).type === 'fetch';
  }
  return false;
}
