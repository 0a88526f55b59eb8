/**
 * The `basic` verifier: the caller's `Authorization: Basic` must name one of the configured users
 * with its password, compared in constant time.
 */
import { z } from 'zod';
import type { Plugin } from '../core/registry.ts';
import { matchesAny } from './compare.ts';
import { fail, headerValue, pass, type Verifier } from './types.ts';

const schema = z
  .strictObject({
    type: z.literal('basic'),
    users: z
      .array(
        z.strictObject({
          username: z.string().min(1).meta({ description: 'User name.', example: 'erp' }),
          password: z
            .string()
            .min(1)
            .meta({ description: 'Password.', example: '${ERP_PASSWORD}', secret: true }),
        }),
      )
      .min(1)
      .meta({ description: 'Accepted user/password pairs (several allow rotation).' }),
  })
  .meta({ title: 'basic', description: 'The caller sends HTTP Basic credentials (RFC 7617).' });

export const basicVerifier: Plugin<typeof schema, Verifier> = {
  type: 'basic',
  description: 'HTTP Basic authentication of the caller, one or more user/password pairs.',
  schema,
  create(config) {
    // The whole decoded `user:password` is compared, so the user name is checked in constant time too.
    const accepted = config.users.map((u) => `${u.username}:${u.password}`);
    return {
      verify(request) {
        const header = headerValue(request.headers, 'authorization');
        if (!header) return fail('missing', 'no Authorization header');
        const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
        if (!match) return fail('malformed', 'Authorization is not Basic credentials');
        const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
        return matchesAny(decoded, accepted) ? pass : fail('mismatch', 'unknown user or wrong password');
      },
    };
  },
};
