/**
 * Every outbound auth kind, in the plugin registry and in the schema's discriminated union. Adding
 * one is one file plus one line here and one in the union.
 */
import { z } from 'zod';
import { createRegistry } from '../core/registry.ts';
import { basicAuth } from './basic.ts';
import { bearerAuth } from './bearer.ts';
import { headerAuth } from './header.ts';
import { oauth2Auth } from './oauth2.ts';
import { queryAuth } from './query.ts';
import type { OutboundAuth } from './types.ts';

export const authRegistry = createRegistry<OutboundAuth>('auth', [
  basicAuth,
  bearerAuth,
  headerAuth,
  queryAuth,
  oauth2Auth,
]);

export const authSchema = z
  .discriminatedUnion('type', [
    basicAuth.schema,
    bearerAuth.schema,
    headerAuth.schema,
    queryAuth.schema,
    oauth2Auth.schema,
  ])
  .meta({ description: 'Credentials injected into every request sent to the target.' });

export type AuthConfig = z.output<typeof authSchema>;
