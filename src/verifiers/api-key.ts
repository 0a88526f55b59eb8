/**
 * The `apiKey` verifier: the caller sends one of the configured keys in a header or a query
 * parameter, compared in constant time.
 */
import { z } from 'zod';
import { configCode } from '../core/config-codes.ts';
import { headerName } from '../core/fields.ts';
import type { Plugin } from '../core/registry.ts';
import { matchesAny } from './compare.ts';
import { fail, headerValue, pass, type Verifier } from './types.ts';

const schema = z
  .strictObject({
    type: z.literal('apiKey'),
    header: headerName.optional().meta({ description: 'Header carrying the key.', example: 'X-Api-Key' }),
    query: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'Query parameter carrying the key.', example: 'key' }),
    scheme: z.string().optional().meta({
      description: 'Prefix before the key in the header, e.g. `Bearer` for `Authorization: Bearer <key>`.',
    }),
    keys: z
      .array(z.string().min(8).meta({ secret: true }))
      .min(1)
      .meta({ description: 'Accepted keys (several allow rotation).', example: ['${ERP_API_KEY}'] }),
  })
  .superRefine((config, ctx) => {
    if (!config.header === !config.query) {
      ctx.addIssue({
        code: 'custom',
        params: configCode('HOOKRELAY_CONFIG_CONFLICT'),
        path: [],
        message: 'needs exactly one of `header` or `query`',
      });
    }
  })
  .meta({ title: 'apiKey', description: 'The caller sends an API key in a header or a query parameter.' });

export const apiKeyVerifier: Plugin<typeof schema, Verifier> = {
  type: 'apiKey',
  description: 'An API key in a header (optionally after a scheme such as Bearer) or a query parameter.',
  schema,
  create(config) {
    const prefix = config.scheme ? `${config.scheme.toLowerCase()} ` : '';
    return {
      verify(request) {
        let key: string | undefined;
        if (config.header) {
          const value = headerValue(request.headers, config.header);
          if (value && prefix)
            key = value.toLowerCase().startsWith(prefix) ? value.slice(prefix.length).trim() : undefined;
          else key = value;
        } else key = request.query.get(config.query!) ?? undefined;
        if (!key)
          return fail(
            'missing',
            `no API key in ${config.header ? `header ${config.header}` : `query parameter ${config.query}`}`,
          );
        return matchesAny(key, config.keys) ? pass : fail('mismatch', 'unknown API key');
      },
    };
  },
};
