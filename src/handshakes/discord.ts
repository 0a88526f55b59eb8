/**
 * The `discord` handshake: the interactions endpoint PING, a signed POST whose JSON body has
 * `"type": 1`, answered 200 `{"type":1}` (PONG) as `application/json`. Discord signs it like every
 * interaction (`X-Signature-Ed25519`), so the route's `verify` (the `discord` preset) applies
 * first: Discord also sends PINGs with bad signatures and requires that they are refused.
 * https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-acknowledging-ping-requests
 */
import { z } from 'zod';
import type { Plugin } from '../core/registry.ts';
import { field, type Handshake } from './types.ts';

const schema = z.strictObject({ type: z.literal('discord') }).meta({
  title: 'discord',
  description:
    'Discord interactions PING: a signed POST with `"type": 1`, answered 200 `{"type":1}`. Answered after `verify` (the `discord` verifier), so a badly signed PING is refused with 401.',
});

const MARK = Buffer.from('"type"');
const PING = 1;

export const discordHandshake: Plugin<typeof schema, Handshake> = {
  type: 'discord',
  description: 'Discord interactions PING (signed: answered after `verify`).',
  schema,
  create() {
    return {
      signed: true,
      methods: ['POST'],
      candidate: (request) => request.method === 'POST' && request.body.includes(MARK),
      answer(request) {
        if (field(request.json(), 'type') !== PING) return undefined;
        return {
          kind: 'answer',
          status: 200,
          headers: {
            'content-type': 'application/json; charset=utf-8',
            'x-content-type-options': 'nosniff',
            'content-security-policy': "default-src 'none'; sandbox",
            'cache-control': 'no-store',
          },
          body: JSON.stringify({ type: PING }),
        };
      },
    };
  },
};
