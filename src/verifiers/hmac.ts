/**
 * The generic `hmac` verifier: an HMAC over the configured parts of the request (core/hmac-
 * spec.ts), in a header, with an optional timestamp window and replay protection.
 */
import { z } from 'zod';
import { configCode } from '../core/config-codes.ts';
import { headerName } from '../core/fields.ts';
import { compileSigned, hmacFields, requireTimestampHeader, signedBytes } from '../core/hmac-spec.ts';
import type { Plugin } from '../core/registry.ts';
import { findMatch } from './compare.ts';
import { createReplayWindow } from './replay.ts';
import { checkTimestamp, macs, replayWindowField, secretsField, toleranceField } from './signing.ts';
import { fail, headerValue, passed, type Verifier } from './types.ts';

const schema = z
  .strictObject({
    type: z.literal('hmac'),
    ...hmacFields({
      body: 'the raw bytes',
      timestamp: 'Header carrying the signing time (Unix seconds or milliseconds).',
      url: 'path and query as received',
    }),
    tolerance: toleranceField(),
    idHeader: headerName.optional().meta({
      description: "Header carrying the sender's message id, remembered by `replayWindow`.",
      example: 'X-Message-Id',
    }),
    replayWindow: replayWindowField('the `idHeader` value (when set) and the signature'),
    secrets: secretsField('Shared secrets.', ['${SENDER_SIGNING_SECRET}']),
  })
  .superRefine(requireTimestampHeader)
  .superRefine(timestampMustBeSigned)
  .meta({
    title: 'hmac',
    description: 'A generic HMAC signature over the raw body (and optionally a timestamp).',
  });

/**
 * A timestamp the signature does not cover proves nothing: whoever captured a request resends it
 * with a fresh timestamp and it passes the tolerance check. So a `timestampHeader` needs
 * `{timestamp}` in `signed`, unless a replay window remembers the signatures (which then is the
 * only replay protection, for as long as the window).
 */
function timestampMustBeSigned(
  config: { signed: string; timestampHeader?: string | undefined; replayWindow?: number | undefined },
  ctx: z.RefinementCtx,
): void {
  if (!config.timestampHeader || config.signed.includes('{timestamp}') || config.replayWindow !== undefined) {
    return;
  }
  ctx.addIssue({
    code: 'custom',
    params: configCode('HOOKRELAY_CONFIG_INSECURE'),
    path: ['signed'],
    message: `'${config.signed}' does not contain {timestamp}, so the signature does not cover ${config.timestampHeader} and a captured request passes \`tolerance\` again with a fresh timestamp: sign it (e.g. '{timestamp}.{body}', as the sender documents) or set \`replayWindow\` to refuse a signature seen before`,
  });
}

/** Seconds or milliseconds since the epoch → ms; undefined when not a number. */
export function timestampMs(value: string): number | undefined {
  if (!/^\d{1,16}$/.test(value)) return undefined;
  const n = Number(value);
  return n < 1e11 ? n * 1000 : n;
}

export const hmacVerifier: Plugin<typeof schema, Verifier> = {
  type: 'hmac',
  description:
    'Generic HMAC signature: algorithm, header, encoding, prefix, signed template, timestamp tolerance.',
  schema,
  create(config) {
    const parts = compileSigned(config.signed);
    const prefix = config.prefix;
    return {
      replay: config.replayWindow === undefined ? undefined : createReplayWindow(config.replayWindow),
      verify(request, now) {
        const header = headerValue(request.headers, config.header);
        if (!header) return fail('missing', `no ${config.header} header`);
        let timestamp = '';
        if (config.timestampHeader) {
          timestamp = headerValue(request.headers, config.timestampHeader) ?? '';
          const refused = checkTimestamp(
            timestamp,
            config.timestampHeader,
            now,
            config.tolerance,
            timestampMs,
          );
          if (refused) return refused;
        }
        // Several signatures may be sent (e.g. during the sender's own rotation), comma-separated.
        const candidates = header
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s.startsWith(prefix))
          .map((s) => s.slice(prefix.length));
        if (candidates.length === 0)
          return fail('malformed', `${config.header} lacks the '${prefix}' prefix`);
        const signed = signedBytes(parts, {
          body: request.body,
          timestamp,
          method: request.method,
          url: request.url,
        });
        const expected = macs(config.algorithm, config.secrets, signed, config.encoding);
        const match = findMatch(
          config.encoding === 'hex' ? candidates.map((c) => c.toLowerCase()) : candidates,
          expected,
        );
        if (match === undefined) return fail('mismatch', 'signature does not match');
        return passed(config.idHeader ? headerValue(request.headers, config.idHeader) : undefined, match);
      },
    };
  },
};
