/**
 * Structured JSON logs (pino). No log call passes headers, bodies or configuration; should one
 * ever do, these serializers mask them (`config` is the config file's path in the start line).
 * Serializers run only when their key is present, unlike pino's `redact` paths, which cost ~40 µs
 * on every line (measured, docs/performance.md).
 */
import { type Logger, pino } from 'pino';
import { isSecretHeaderName } from '../core/secret-names.ts';

export type { Logger };

const REDACTED = '[redacted]';

function redactHeaders(headers: unknown): unknown {
  if (headers === null || typeof headers !== 'object') return headers;
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(headers))
    out[name] = isSecretHeaderName(name) ? REDACTED : value;
  return out;
}

/** pino's `isoTime`, formatted once per millisecond: under load several lines share one. */
let lastMs = -1;
let lastTime = '';
function isoTime(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastTime = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastTime;
}

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'hookrelay' },
      timestamp: isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: {
        headers: redactHeaders,
        auth: () => REDACTED,
      },
    },
    destination as pino.DestinationStream | undefined,
  );
}
