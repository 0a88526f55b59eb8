/**
 * The `bearer` auth plugin: `Authorization: Bearer <token>` on every forwarded request.
 */
import { z } from 'zod';
import type { Plugin } from '../core/registry.ts';
import type { OutboundAuth } from './types.ts';

const schema = z
  .strictObject({
    type: z.literal('bearer'),
    token: z.string().min(1).meta({ description: 'Bearer token.', example: '${TARGET_TOKEN}', secret: true }),
  })
  .meta({ title: 'bearer', description: 'Bearer token (RFC 6750).' });

export const bearerAuth: Plugin<typeof schema, OutboundAuth> = {
  type: 'bearer',
  description: 'Bearer token: `Authorization: Bearer <token>`.',
  schema,
  create(config) {
    const value = `Bearer ${config.token}`;
    return {
      apply(request) {
        request.headers.authorization = value;
      },
    };
  },
};
