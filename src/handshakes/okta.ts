/**
 * The `okta` handshake: an event hook's one-time verification, a GET with the header
 * `X-Okta-Verification-Challenge`, answered 200 with `{"verification":"<value>"}`. Okta sends the
 * hook's configured authentication header with it, so the route's `verify` (e.g. `apiKey` on
 * `Authorization`) applies first.
 * https://developer.okta.com/docs/concepts/event-hooks/#one-time-verification-request
 */
import { z } from 'zod';
import type { Plugin } from '../core/registry.ts';
import { challenge, type Handshake, headerOnce, jsonAnswer } from './types.ts';

const schema = z.strictObject({ type: z.literal('okta') }).meta({
  title: 'okta',
  description:
    'Okta event hook one-time verification: a GET with `X-Okta-Verification-Challenge`, answered 200 `{"verification":"…"}`. Okta sends the hook\'s authentication header with it: the route\'s `verify` applies first.',
});

const HEADER = 'x-okta-verification-challenge';

export const oktaHandshake: Plugin<typeof schema, Handshake> = {
  type: 'okta',
  description: 'Okta event hook one-time verification (signed: answered after `verify`).',
  schema,
  create() {
    return {
      signed: true,
      methods: ['GET'],
      candidate: (request) => request.method === 'GET' && request.headers[HEADER] !== undefined,
      answer(request) {
        const value = challenge(headerOnce(request.headers, HEADER), 'X-Okta-Verification-Challenge');
        return typeof value === 'string' ? jsonAnswer({ verification: value }) : value;
      },
    };
  },
};
