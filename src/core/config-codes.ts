/**
 * The stable codes of configuration problems, the one list `hookrelay validate`/`start` print
 * beside each message and docs/errors.md documents. Scripts and editors match on the code, not on
 * the message, which may become more precise over time.
 *
 * In core/ because the schema fragments that raise custom issues live in the plugin and mode
 * folders, below config/: a custom issue names its code with `params: configCode('…')`; the loader
 * (config/load.ts) maps zod's own issue kinds to theirs and gives a custom issue without a code
 * `HOOKRELAY_CONFIG_INVALID_VALUE`.
 */
export interface ConfigCodeSpec {
  /** An error stops the relay from starting; a warning is printed and the file is still valid. */
  severity: 'error' | 'warning';
  description: string;
}

export const CONFIG_CODES = {
  HOOKRELAY_CONFIG_FILE_UNREADABLE: {
    severity: 'error',
    description:
      'The config file cannot be read (missing, a directory, no permission); the message gives the error code, e.g. `ENOENT`.',
  },
  HOOKRELAY_CONFIG_YAML_SYNTAX: {
    severity: 'error',
    description:
      'The file is not valid YAML; the position is where the parser gave up, often just after the mistake.',
  },
  HOOKRELAY_CONFIG_ENV_NOT_SET: {
    severity: 'error',
    description:
      'A `${VAR}` names an environment variable that is not set (an empty one is used as it is; `${VAR:-default}` falls back).',
  },
  HOOKRELAY_CONFIG_SECRET_FILE_UNREADABLE: {
    severity: 'error',
    description:
      'A `${file:/path}` names a file that cannot be read; the message gives the error code, never the content.',
  },
  HOOKRELAY_CONFIG_INTERPOLATION_SYNTAX: {
    severity: 'error',
    description:
      'A `${…}` that is neither `${VAR}`, `${VAR:-default}` nor `${file:/path}` (e.g. unclosed or nested). Write `$${` for a literal `${`.',
  },
  HOOKRELAY_CONFIG_UNKNOWN_KEY: {
    severity: 'error',
    description:
      'A key the schema does not know at that place, usually a typo: unknown keys are errors, never ignored.',
  },
  HOOKRELAY_CONFIG_MISSING_KEY: {
    severity: 'error',
    description:
      'A required key is missing, including the `type` of a plugin (verifier, auth, signer, transform step).',
  },
  HOOKRELAY_CONFIG_INVALID_TYPE: {
    severity: 'error',
    description:
      'A value of the wrong kind: a string where a number or a mapping is expected, a list where a string is.',
  },
  HOOKRELAY_CONFIG_UNKNOWN_TYPE: {
    severity: 'error',
    description:
      'A `type` (or another key choosing a variant, such as `delivery`) that names no registered kind; the message lists the ones there are.',
  },
  HOOKRELAY_CONFIG_INVALID_VALUE: {
    severity: 'error',
    description:
      'A value of the right kind that is not accepted: not one of the allowed words, an address or a secret in the wrong form, a duration or size that does not parse. The message says what is expected.',
  },
  HOOKRELAY_CONFIG_INVALID_FORMAT: {
    severity: 'error',
    description:
      'A string that does not have the required form: a target URL that is not an absolute http(s) URL (or holds credentials, or placeholders in its host), an OAuth2 `tokenUrl` likewise, TLS material that is not PEM text.',
  },
  HOOKRELAY_CONFIG_OUT_OF_RANGE: {
    severity: 'error',
    description: 'A number, duration, size or list length below its minimum or above its maximum.',
  },
  HOOKRELAY_CONFIG_CONFLICT: {
    severity: 'error',
    description:
      'Keys that do not go together or need each other: exactly one of two keys, a key that applies only with another or only to some delivery modes, one value that must stay below another (e.g. `server.headersTimeout` and `server.requestTimeout`).',
  },
  HOOKRELAY_CONFIG_DUPLICATE: {
    severity: 'error',
    description:
      'Something that must be unique is given twice: a route id, a method and path, a header name.',
  },
  HOOKRELAY_CONFIG_RESERVED: {
    severity: 'error',
    description:
      'A name hookrelay keeps for itself: a route path it serves (health, readiness, metrics), a header it manages, an OAuth2 parameter the grant sets.',
  },
  HOOKRELAY_CONFIG_INVALID_EXPRESSION: {
    severity: 'error',
    description:
      'A template, field path, JSONata expression or route path that does not compile; the message gives the position.',
  },
  HOOKRELAY_CONFIG_INSECURE: {
    severity: 'error',
    description:
      'A setting that would leave the relay open: an admin API off loopback without `admin.token`, an HMAC check whose signed text leaves out the timestamp it reads, a handshake the provider signs on a route without `verify`.',
  },
  HOOKRELAY_CONFIG_LITERAL_SECRET: {
    severity: 'warning',
    description:
      'A secret (or a credential header) written literally in the file rather than from `${VAR}` or `${file:/path}`. The file is valid; `validate` still exits 0.',
  },
} as const satisfies Record<string, ConfigCodeSpec>;

export type ConfigCode = keyof typeof CONFIG_CODES;

/** The `params` of a custom zod issue naming its code: `ctx.addIssue({ …, params: configCode('…') })`. */
export function configCode(code: ConfigCode): { code: ConfigCode } {
  return { code };
}

export function isConfigCode(value: unknown): value is ConfigCode {
  return typeof value === 'string' && Object.hasOwn(CONFIG_CODES, value);
}
