/**
 * The `dropbox` handshake: the webhook verification request, a GET `?challenge=…`, answered 200
 * with the challenge and the headers Dropbox asks for (`Content-Type: text/plain`,
 * `X-Content-Type-Options: nosniff`). Not signed (Dropbox signs its notifications, not this).
 * https://www.dropbox.com/developers/reference/webhooks
 */
import { z } from 'zod';
import type { Plugin } from '../core/registry.ts';
import { challenge, type Handshake, plainText, single } from './types.ts';

const schema = z.strictObject({ type: z.literal('dropbox') }).meta({
  title: 'dropbox',
  description:
    'Dropbox webhook verification: a GET `?challenge=…`, answered 200 `text/plain` (`X-Content-Type-Options: nosniff`) with the challenge. Not signed.',
});

export const dropboxHandshake: Plugin<typeof schema, Handshake> = {
  type: 'dropbox',
  description: 'Dropbox webhook verification challenge (not signed).',
  schema,
  create() {
    return {
      signed: false,
      methods: ['GET'],
      candidate: (request) => request.method === 'GET' && request.query.has('challenge'),
      answer(request) {
        const value = challenge(single(request.query, 'challenge'), 'challenge');
        return typeof value === 'string' ? plainText(value) : value;
      },
    };
  },
};
