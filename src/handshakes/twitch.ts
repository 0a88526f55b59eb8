/**
 * The `twitch` handshake: EventSub's `webhook_callback_verification`, a signed POST with the header
 * `Twitch-Eventsub-Message-Type: webhook_callback_verification` and a JSON body
 * `{"challenge":"…","subscription":{…}}`, answered 200 with the challenge as plain text. Twitch
 * signs it like every message (use the `twitch` verifier), so it is answered after `verify`.
 * https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#responding-to-a-challenge-request
 */
import { z } from 'zod';
import type { Plugin } from '../core/registry.ts';
import { challenge, field, type Handshake, headerOnce, plainText } from './types.ts';

const schema = z.strictObject({ type: z.literal('twitch') }).meta({
  title: 'twitch',
  description:
    'Twitch EventSub `webhook_callback_verification`: a POST with `Twitch-Eventsub-Message-Type: webhook_callback_verification` and `{"challenge":"…"}`, signed like every EventSub message (use the `twitch` verifier), answered 200 `text/plain` with the challenge.',
});

const TYPE = 'webhook_callback_verification';

export const twitchHandshake: Plugin<typeof schema, Handshake> = {
  type: 'twitch',
  description: 'Twitch EventSub webhook_callback_verification (signed: answered after `verify`).',
  schema,
  create() {
    return {
      signed: true,
      methods: ['POST'],
      candidate: (request) =>
        request.method === 'POST' &&
        headerOnce(request.headers, 'twitch-eventsub-message-type')?.trim() === TYPE,
      answer(request) {
        // The header says it is the verification: a body without a usable challenge is refused, not forwarded.
        const value = challenge(field(request.json(), 'challenge'), 'challenge');
        return typeof value === 'string' ? plainText(value) : value;
      },
    };
  },
};
