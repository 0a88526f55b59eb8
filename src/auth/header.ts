/**
 * The `header` auth plugin: a named header with a fixed value (an API key) on every forwarded
 * request.
 */
import { z } from 'zod';
import { headerName } from '../core/fields.ts';
import type { Plugin } from '../core/registry.ts';
import type { OutboundAuth } from './types.ts';

const schema = z
  .strictObject({
    type: z.literal('header'),
    name: headerName.meta({ description: 'Header name.', example: 'X-Api-Key' }),
    value: z
      .string()
      .min(1)
      .meta({ description: 'Header value, e.g. an API key.', example: '${TARGET_API_KEY}', secret: true }),
  })
  .meta({ title: 'header', description: 'Any header carrying a credential, e.g. an API key.' });

export const headerAuth: Plugin<typeof schema, OutboundAuth> = {
  type: 'header',
  description: 'A credential in any header, e.g. `X-Api-Key: <key>`.',
  schema,
  create(config) {
    const name = config.name.toLowerCase();
    const { value } = config;
    return {
      apply(request) {
        request.headers[name] = value;
      },
    };
  },
};
