/**
 * The `msgraph` handshake: Microsoft Graph's notification endpoint validation, a POST with
 * `?validationToken=…` (sent when a subscription is created or renewed), answered within 10 s with
 * 200 `text/plain` and the decoded token. Graph does not sign it.
 * https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks#notificationurl-validation
 */
import { z } from 'zod';
import type { Plugin } from '../core/registry.ts';
import { challenge, type Handshake, plainText, single } from './types.ts';

const schema = z.strictObject({ type: z.literal('msgraph') }).meta({
  title: 'msgraph',
  description:
    'Microsoft Graph subscription validation: a POST with `?validationToken=…`, answered 200 `text/plain` with the decoded token. Not signed by Graph.',
});

export const msgraphHandshake: Plugin<typeof schema, Handshake> = {
  type: 'msgraph',
  description: 'Microsoft Graph change notifications: validationToken (not signed).',
  schema,
  create() {
    return {
      signed: false,
      methods: ['POST'],
      candidate: (request) => request.method === 'POST' && request.query.has('validationToken'),
      answer(request) {
        // URLSearchParams has decoded it already, as Graph requires.
        const value = challenge(single(request.query, 'validationToken'), 'validationToken');
        return typeof value === 'string' ? plainText(value) : value;
      },
    };
  },
};
