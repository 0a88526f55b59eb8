/**
 * The `query` auth plugin: a query parameter with a fixed value (an API key) added to every
 * forwarded URL.
 */
import { z } from 'zod';
import type { Plugin } from '../core/registry.ts';
import type { OutboundAuth } from './types.ts';

const schema = z
  .strictObject({
    type: z.literal('query'),
    name: z.string().min(1).meta({ description: 'Query parameter name.', example: 'api_key' }),
    value: z.string().min(1).meta({ description: 'The key.', example: '${TARGET_API_KEY}', secret: true }),
  })
  .meta({ title: 'query', description: 'An API key sent as a query parameter.' });

export const queryAuth: Plugin<typeof schema, OutboundAuth> = {
  type: 'query',
  description: 'An API key as a query parameter: `?api_key=<key>` (replaces a parameter of that name).',
  schema,
  create(config) {
    const { name, value } = config;
    return {
      apply(request) {
        request.url.searchParams.set(name, value);
      },
    };
  },
};
