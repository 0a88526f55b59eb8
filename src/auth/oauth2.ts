/**
 * The `oauth2` auth plugin: the client-credentials grant. A token is requested from `tokenUrl`
 * (token-request.ts), cached until shortly before it expires (token-cache.ts) and sent as
 * `Authorization: Bearer`.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { configCode } from '../core/config-codes.ts';
import { duration } from '../core/fields.ts';
import type { Plugin } from '../core/registry.ts';
import { TokenSource, TokenSources } from './token-cache.ts';
import { requestToken } from './token-request.ts';
import type { OutboundAuth } from './types.ts';

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.host !== '';
  } catch {
    return false;
  }
}

/** Form parameters the grant itself sets; `params` may not override them. */
const RESERVED = ['grant_type', 'client_id', 'client_secret', 'scope', 'audience'];

const schema = z
  .strictObject({
    type: z.literal('oauth2'),
    // A refinement rather than z.url(): the editor schema sees `${TOKEN_URL}` before interpolation.
    tokenUrl: z
      .string()
      .refine(isHttpUrl, {
        params: configCode('HOOKRELAY_CONFIG_INVALID_FORMAT'),
        message: 'must be an absolute http(s) URL',
      })
      .refine((value) => !/^[a-z]+:\/\/[^/?#]*@/i.test(value), {
        params: configCode('HOOKRELAY_CONFIG_INVALID_FORMAT'),
        message: 'must not embed credentials: use clientId and clientSecret',
      })
      .meta({
        description: 'Token endpoint of the authorization server.',
        example: 'https://auth.example.com/oauth/token',
      }),
    clientId: z.string().min(1).meta({ description: 'Client identifier.', example: 'hookrelay' }),
    clientSecret: z
      .string()
      .min(1)
      .meta({ description: 'Client secret.', example: '${OAUTH_CLIENT_SECRET}', secret: true }),
    scope: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .optional()
      .meta({
        description: 'Scope(s) requested; a list is sent space-separated.',
        example: ['orders:write'],
      }),
    audience: z.string().min(1).optional().meta({
      description: 'The `audience` parameter some servers require (Auth0, Okta).',
      example: 'https://api.example.com',
    }),
    clientAuth: z.enum(['basic', 'body']).default('basic').meta({
      description:
        'How the client authenticates to the token endpoint: `basic` (client_secret_basic, HTTP Basic) or `body` (client_secret_post, in the form).',
    }),
    params: z
      .record(z.string().min(1), z.string())
      .optional()
      .meta({
        description: 'Extra form parameters of the token request.',
        example: { resource: 'https://api.example.com' },
      }),
    timeout: duration('Time allowed for the token request.', '10s').default(10_000),
    refreshBefore: duration(
      'A token is replaced this long before it expires (at most half its lifetime).',
      '30s',
    ).default(30_000),
    defaultLifetime: duration('How long a token is used when the answer has no `expires_in`.', '5m').default(
      300_000,
    ),
  })
  .superRefine((config, ctx) => {
    for (const name of Object.keys(config.params ?? {})) {
      if (RESERVED.includes(name)) {
        ctx.addIssue({
          code: 'custom',
          params: configCode('HOOKRELAY_CONFIG_RESERVED'),
          path: ['params', name],
          message: `is set by the grant itself`,
        });
      }
    }
  })
  .meta({
    title: 'oauth2',
    description:
      'OAuth 2.0 client credentials (RFC 6749 §4.4): a bearer token from the token endpoint, cached until shortly before it expires.',
  });

export interface OAuth2Info {
  routeId?: string;
  /** Shared by the routes of one configuration: same endpoint, client, scope, audience → one token. */
  tokens?: TokenSources;
  /** Clock of the token cache (tests). */
  now?: () => number;
}

const BEARER = /^Bearer (.+)$/;

export const oauth2Auth: Plugin<typeof schema, OutboundAuth> = {
  type: 'oauth2',
  description:
    'OAuth 2.0 client credentials grant: `Authorization: Bearer <access token>`, fetched once for all concurrent requests, cached until shortly before `expires_in`, refreshed once when the target answers 401.',
  schema,
  create(config, info?: OAuth2Info) {
    const now = info?.now ?? (() => performance.now());
    const scope = Array.isArray(config.scope) ? config.scope.join(' ') : config.scope;
    const spec = { ...config, scope, params: config.params ?? {} };
    const closed = new AbortController();
    const create = () => new TokenSource((context) => requestToken(spec, context, now, closed.signal), now);
    // The secret is part of the identity (two clients with one id are a misconfiguration, but must
    // not share a token); only its hash is kept in the key.
    const key = JSON.stringify([
      config.tokenUrl,
      config.clientId,
      createHash('sha256').update(config.clientSecret).digest('base64'),
      config.clientAuth,
      scope,
      config.audience,
      spec.params,
      config.refreshBefore,
      config.defaultLifetime,
    ]);
    const source = info?.tokens ? info.tokens.get(key, create) : create();
    return {
      async apply(request, context) {
        request.headers.authorization = `Bearer ${await source.get(context)}`;
      },
      preview(request) {
        request.headers.authorization = 'Bearer <OAuth2 access token, fetched when delivering>';
      },
      onUnauthorized(sent) {
        const token = BEARER.exec(sent.headers.authorization ?? '')?.[1];
        if (token !== undefined) source.invalidate(token);
        return true;
      },
      close() {
        closed.abort();
      },
    };
  },
};

export { TokenSources };
