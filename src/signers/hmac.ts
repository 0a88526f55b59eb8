import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { headerName } from '../config/fields.ts';
import type { Plugin } from '../registry.ts';
import type { Signer } from './types.ts';

/**
 * The mirror of the inbound `hmac` verifier: the same fields mean the same thing, so a route
 * signing with this and a hookrelay route verifying with `verify: [{ type: hmac, ... }]` agree.
 */
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
        'What is signed: `{body}` (the forwarded bytes, after transforms), `{timestamp}` (the value sent in `timestampHeader`), `{method}`, `{url}` (target path and query), joined by the literal text between them.',
      example: '{timestamp}.{body}',
    }),
    timestampHeader: headerName.optional().meta({
      description: 'Header carrying the signing time of the attempt.',
      example: 'X-Timestamp',
    }),
    timestampUnit: z
      .enum(['s', 'ms'])
      .default('s')
      .meta({ description: 'Timestamp in Unix seconds (`s`) or milliseconds (`ms`).' }),
    secret: z
      .string()
      .min(1)
      .meta({ description: 'Shared secret.', example: '${TARGET_SIGNING_SECRET}', secret: true }),
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
    description: 'A generic HMAC signature over the forwarded body (and optionally a timestamp).',
  });

type Field = 'body' | 'timestamp' | 'method' | 'url';
type Part = { text: string } | { field: Field };

function compileSigned(template: string): Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (const match of template.matchAll(/\{(body|timestamp|method|url)\}/g)) {
    if (match.index > last) parts.push({ text: template.slice(last, match.index) });
    parts.push({ field: match[1] as Field });
    last = match.index + match[0].length;
  }
  if (last < template.length) parts.push({ text: template.slice(last) });
  return parts;
}

export const hmacSigner: Plugin<typeof schema, Signer> = {
  type: 'hmac',
  description:
    'Generic HMAC signature: algorithm, header, encoding, prefix, signed template, timestamp header.',
  schema,
  create(config) {
    const parts = compileSigned(config.signed);
    const header = config.header.toLowerCase();
    const timestampHeader = config.timestampHeader?.toLowerCase();
    return {
      signatureHeaders: [header],
      sign(request, { now }) {
        const timestamp = String(config.timestampUnit === 's' ? Math.floor(now / 1000) : now);
        if (timestampHeader) request.headers[timestampHeader] = timestamp;
        const mac = createHmac(config.algorithm, config.secret);
        for (const part of parts) {
          if ('text' in part) mac.update(part.text);
          else if (part.field === 'body') mac.update(request.body ?? Buffer.alloc(0));
          else if (part.field === 'timestamp') mac.update(timestamp);
          else if (part.field === 'method') mac.update(request.method);
          else mac.update(request.url.pathname + request.url.search);
        }
        request.headers[header] = `${config.prefix}${mac.digest(config.encoding)}`;
      },
    };
  },
};
