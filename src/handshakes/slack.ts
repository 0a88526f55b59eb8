/**
 * The `slack` handshake: the Events API's `url_verification`, a signed POST whose JSON body is
 * `{"type":"url_verification","challenge":"…"}`, answered 200 with the challenge as plain text.
 * https://api.slack.com/events/url_verification ("verify the request's authenticity and then
 * respond in plaintext with the challenge attribute value").
 */
import { z } from 'zod';
import type { Plugin } from '../core/registry.ts';
import { challenge, field, type Handshake, plainText } from './types.ts';

const schema = z.strictObject({ type: z.literal('slack') }).meta({
  title: 'slack',
  description:
    'Slack Events API `url_verification`: a POST `{"type":"url_verification","challenge":"…"}` signed like every Slack request (use the `slack` verifier), answered 200 `text/plain` with the challenge.',
});

const MARK = Buffer.from('url_verification');

export const slackHandshake: Plugin<typeof schema, Handshake> = {
  type: 'slack',
  description: 'Slack Events API url_verification (signed: answered after `verify`).',
  schema,
  create() {
    return {
      signed: true,
      methods: ['POST'],
      candidate: (request) => request.method === 'POST' && request.body.includes(MARK),
      answer(request) {
        const body = request.json();
        if (field(body, 'type') !== 'url_verification') return undefined;
        const value = challenge(field(body, 'challenge'), 'challenge');
        return typeof value === 'string' ? plainText(value) : value;
      },
    };
  },
};
