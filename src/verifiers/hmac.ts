import { z } from 'zod';
import { headerName } from '../config/fields.ts';
import type { Plugin } from '../registry.ts';
import { findMatch } from './compare.ts';
import { createReplayWindow } from './replay.ts';
import { checkTimestamp, macs, replayWindowField, secretsField, toleranceField } from './signing.ts';
import { fail, headerValue, passed, type Verifier } from './types.ts';

const schema = z
  .strictObject({
    type: z.literal('hmac'),
    algorithm: z.enum(['sha1', 'sha256', 'sha512']).default('sha256').meta({ description: 'HMAC hash.' }),
    header: headerName.meta({ description: 'Header carrying the signature.', example: 'X-Signature' }),
    encoding: z.enum(['hex', 'base64']).default('hex').meta({ description: 'How the signature is written.' }),
    prefix: z
      .string()
      .default('')
      .meta({ description: 'Text before the signature in the header.', example: 'sha256=' }),
    signed: z.string().default('{body}').meta({
      description:
        'What is signed: `{body}` (the raw bytes), `{timestamp}` (the timestamp header), `{method}`, `{url}` (path and query as received), joined by the literal text between them.',
      example: '{timestamp}.{body}',
    }),
    timestampHeader: headerName.optional().meta({
      description: 'Header carrying the signing time (Unix seconds or milliseconds).',
      example: 'X-Timestamp',
    }),
    tolerance: toleranceField(),
    idHeader: headerName.optional().meta({
      description: "Header carrying the sender's message id, remembered by `replayWindow`.",
      example: 'X-Message-Id',
    }),
    replayWindow: replayWindowField('the `idHeader` value (when set) and the signature'),
    secrets: secretsField('Shared secrets.', ['${SENDER_SIGNING_SECRET}']),
  })
  .superRefine((config, ctx) => {
    if (config.signed.includes('{timestamp}') && !config.timestampHeader) {
      ctx.addIssue({
        code: 'custom',
        path: ['timestampHeader'],
        message: 'required when `signed` contains {timestamp}',
      });
    }
  })
  .meta({
    title: 'hmac',
    description: 'A generic HMAC signature over the raw body (and optionally a timestamp).',
  });

type Part = { text: string } | { field: 'body' | 'timestamp' | 'method' | 'url' };

function compileSigned(template: string): Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (const match of template.matchAll(/\{(body|timestamp|method|url)\}/g)) {
    if (match.index > last) parts.push({ text: template.slice(last, match.index) });
    parts.push({ field: match[1] as 'body' | 'timestamp' | 'method' | 'url' });
    last = match.index + match[0].length;
  }
  if (last < template.length) parts.push({ text: template.slice(last) });
  return parts;
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
        const signed = parts.map((part) => {
          if ('text' in part) return part.text;
          if (part.field === 'body') return request.body;
          if (part.field === 'timestamp') return timestamp;
          return part.field === 'method' ? request.method : request.url;
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
