/**
 * The `basic` auth plugin: `Authorization: Basic base64(username:password)` on every forwarded
 * request.
 */
import { z } from 'zod';
import type { Plugin } from '../core/registry.ts';
import type { OutboundAuth } from './types.ts';

const schema = z
  .strictObject({
    type: z.literal('basic'),
    username: z.string().min(1).meta({ description: 'User name.', example: 'relay' }),
    password: z.string().meta({ description: 'Password.', example: '${TARGET_PASSWORD}', secret: true }),
  })
  .meta({ title: 'basic', description: 'HTTP Basic authentication (RFC 7617).' });

export const basicAuth: Plugin<typeof schema, OutboundAuth> = {
  type: 'basic',
  description: 'HTTP Basic authentication: `Authorization: Basic base64(username:password)`.',
  schema,
  create(config) {
    // RFC 7617: user-id and password joined by a colon, UTF-8, base64.
    const value = `Basic ${Buffer.from(`${config.username}:${config.password}`, 'utf8').toString('base64')}`;
    return {
      apply(request) {
        request.headers.authorization = value;
      },
    };
  },
};
