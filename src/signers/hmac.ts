/**
 * The mirror of the inbound `hmac` verifier: the same fields mean the same thing, so a route
 * signing with this and a hookrelay route verifying with `verify: [{ type: hmac, ... }]` agree.
 */
import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { compileSigned, hmacFields, requireTimestampHeader, signedBytes } from '../core/hmac-spec.ts';
import type { Plugin } from '../core/registry.ts';
import type { Signer } from './types.ts';

const EMPTY = Buffer.alloc(0);

const schema = z
  .strictObject({
    type: z.literal('hmac'),
    ...hmacFields({
      body: 'the forwarded bytes, after transforms',
      timestamp: 'Header carrying the signing time of the attempt.',
      url: 'target path and query',
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
  .superRefine(requireTimestampHeader)
  .meta({
    title: 'hmac',
    description: 'A generic HMAC signature over the forwarded body (and optionally a timestamp).',
  });

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
        const signed = signedBytes(parts, {
          body: request.body ?? EMPTY,
          timestamp,
          method: request.method,
          url: request.url.pathname + request.url.search,
        });
        for (const part of signed) mac.update(part);
        request.headers[header] = `${config.prefix}${mac.digest(config.encoding)}`;
      },
    };
  },
};
