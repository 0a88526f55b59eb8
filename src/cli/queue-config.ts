/**
 * The `queue` section of a config for the commands that open its store (`hookrelay deliveries`,
 * `deliveries migrate`), read even when secrets only the relay's environment provides are unset.
 */
import { readFileSync } from 'node:fs';
import { load as parseYaml } from 'js-yaml';
import { interpolate } from '../config/interpolate.ts';
import { loadConfigFile } from '../config/load.ts';
import { type Config, configSchema } from '../config/schema.ts';
import { secretValuesOf } from '../config/secret-provenance.ts';
import type { ConfigCode } from '../core/config-codes.ts';
import { ConfigError } from '../core/errors.ts';
import { SecretValues } from '../core/secret-values.ts';

export type QueueSection = Config['queue'];

/** The issues of a `${VAR}` or `${file:…}` the operator's shell cannot resolve. */
const MISSING_SECRET: ReadonlySet<ConfigCode> = new Set([
  'HOOKRELAY_CONFIG_ENV_NOT_SET',
  'HOOKRELAY_CONFIG_SECRET_FILE_UNREADABLE',
]);

/**
 * The `queue` section of the config, and the secret values to redact from what is printed. The
 * whole file is validated as for `start`, but secrets the relay's environment provides (a target's
 * API key, the admin token) need not be set in the operator's shell: when only those are missing,
 * and none of them is under `queue`, the `queue` section alone is read. Then there is nothing to
 * redact by value: credentials are never stored with a delivery, and names that say credential
 * are still hidden.
 */
export function queueConfig(file: string): { queue: QueueSection; secrets: SecretValues } {
  try {
    const config = loadConfigFile(file);
    return { queue: config.queue, secrets: secretValuesOf(config) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const onlySecrets = error.issues.every((i) => MISSING_SECRET.has(i.code) && !/^queue\b/.test(i.path));
    if (!onlySecrets) throw error;
    const document = parseYaml(readFileSync(file, 'utf8')) as { queue?: unknown } | null;
    const { value } = interpolate(document?.queue ?? {}, { env: process.env });
    const parsed = configSchema.shape.queue.safeParse(value);
    if (!parsed.success) throw error;
    return { queue: parsed.data, secrets: SecretValues.none };
  }
}
