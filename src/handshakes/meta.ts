/**
 * The `meta` handshake (Facebook, Instagram, WhatsApp, Messenger webhooks): the verification
 * request, a GET `?hub.mode=subscribe&hub.challenge=…&hub.verify_token=…`. The verify token is the
 * check (Meta does not sign it): compared in constant time with `verifyToken`, a match is answered
 * 200 with the challenge, anything else 403.
 * https://developers.facebook.com/docs/graph-api/webhooks/getting-started#verification-requests
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Plugin } from '../core/registry.ts';
import { challenge, type Handshake, plainText, refuse, single } from './types.ts';

const schema = z
  .strictObject({
    type: z.literal('meta'),
    verifyToken: z.string().min(1).meta({
      secret: true,
      description: 'The Verify Token entered with the callback URL in the app dashboard.',
      example: '${META_VERIFY_TOKEN}',
    }),
  })
  .meta({
    title: 'meta',
    description:
      'Meta (Facebook, Instagram, WhatsApp) webhook verification: a GET `?hub.mode=subscribe&hub.challenge=…&hub.verify_token=…`; the token compared in constant time with `verifyToken`, answered 200 `text/plain` with the challenge, or 403 HOOKRELAY_ERR_HANDSHAKE_REFUSED.',
  });

/** Both sides hashed first: neither the content nor the length of the token leaks through timing. */
function sameToken(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export const metaHandshake: Plugin<typeof schema, Handshake> = {
  type: 'meta',
  description: 'Meta webhooks verification request: hub.challenge with hub.verify_token checked.',
  schema,
  create(config) {
    return {
      signed: false,
      methods: ['GET'],
      candidate: (request) => request.method === 'GET' && request.query.has('hub.mode'),
      answer(request) {
        const { query } = request;
        const token = single(query, 'hub.verify_token');
        // The token first: a caller without it learns nothing about what else would pass.
        if (typeof token !== 'string' || !sameToken(token, config.verifyToken)) {
          return refuse('forbidden', 'hub.verify_token does not match');
        }
        if (single(query, 'hub.mode') !== 'subscribe')
          return refuse('malformed', 'hub.mode is not subscribe');
        const value = challenge(single(query, 'hub.challenge'), 'hub.challenge');
        return typeof value === 'string' ? plainText(value) : value;
      },
    };
  },
};
