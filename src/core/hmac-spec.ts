/**
 * The generic HMAC scheme, shared by the inbound `hmac` verifier and the outbound `hmac` signer so
 * the same keys mean the same thing on both sides: a route that signs and a route that verifies
 * with the same settings agree.
 */
import { z } from 'zod';
import { configCode } from './config-codes.ts';
import { headerName } from './fields.ts';

export type SignedField = 'body' | 'timestamp' | 'method' | 'url';
export type SignedPart = { text: string } | { field: SignedField };

/** The fields both sides have; `side` words the descriptions of what is signed. */
export function hmacFields(side: { body: string; timestamp: string; url: string }) {
  return {
    algorithm: z.enum(['sha1', 'sha256', 'sha512']).default('sha256').meta({ description: 'HMAC hash.' }),
    header: headerName.meta({ description: 'Header carrying the signature.', example: 'X-Signature' }),
    encoding: z.enum(['hex', 'base64']).default('hex').meta({ description: 'How the signature is written.' }),
    prefix: z
      .string()
      .default('')
      .meta({ description: 'Text before the signature in the header.', example: 'sha256=' }),
    signed: z
      .string()
      .default('{body}')
      .meta({
        description: `What is signed: \`{body}\` (${side.body}), \`{timestamp}\` (the \`timestampHeader\` value), \`{method}\`, \`{url}\` (${side.url}), joined by the literal text between them.`,
        example: '{timestamp}.{body}',
      }),
    timestampHeader: headerName.optional().meta({ description: side.timestamp, example: 'X-Timestamp' }),
  };
}

/** `{timestamp}` in `signed` needs a header to carry it. */
export function requireTimestampHeader(
  config: { signed: string; timestampHeader?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  if (config.signed.includes('{timestamp}') && !config.timestampHeader) {
    ctx.addIssue({
      code: 'custom',
      params: configCode('HOOKRELAY_CONFIG_CONFLICT'),
      path: ['timestampHeader'],
      message: 'required when `signed` contains {timestamp}',
    });
  }
}

/** `{timestamp}.{body}` → literal text and fields, once at load. */
export function compileSigned(template: string): SignedPart[] {
  const parts: SignedPart[] = [];
  let last = 0;
  for (const match of template.matchAll(/\{(body|timestamp|method|url)\}/g)) {
    if (match.index > last) parts.push({ text: template.slice(last, match.index) });
    parts.push({ field: match[1] as SignedField });
    last = match.index + match[0].length;
  }
  if (last < template.length) parts.push({ text: template.slice(last) });
  return parts;
}

/** The bytes to sign, in order, with each field's value filled in. */
export function signedBytes(
  parts: readonly SignedPart[],
  values: Record<SignedField, string | Buffer>,
): (string | Buffer)[] {
  return parts.map((part) => ('text' in part ? part.text : values[part.field]));
}
