/**
 * The `x` handshake: X (Twitter) Account Activity API's challenge-response check (CRC), a GET
 * `?crc_token=…` (at registration, hourly, and on demand), answered 200 with
 * `{"response_token":"sha256=<base64 HMAC-SHA256 of crc_token under the consumer secret>"}`.
 * Not signed: the answer proves we hold the secret.
 * https://developer.x.com/en/docs/x-api/enterprise/account-activity-api/guides/securing-webhooks
 */
import { createHmac } from 'node:crypto';
import { z } from 'zod';
import type { Plugin } from '../core/registry.ts';
import { challenge, type Handshake, jsonAnswer, single } from './types.ts';

const schema = z
  .strictObject({
    type: z.literal('x'),
    consumerSecret: z.string().min(1).meta({
      secret: true,
      description: "The app's consumer secret (API Key Secret), the key of `response_token`.",
      example: '${X_CONSUMER_SECRET}',
    }),
  })
  .meta({
    title: 'x',
    description:
      'X (Twitter) Account Activity CRC: a GET `?crc_token=…`, answered 200 `{"response_token":"sha256=<base64 HMAC-SHA256>"}` under `consumerSecret`. Not signed.',
  });

export const xHandshake: Plugin<typeof schema, Handshake> = {
  type: 'x',
  description: 'X (Twitter) Account Activity API CRC (crc_token, not signed).',
  schema,
  create(config) {
    return {
      signed: false,
      methods: ['GET'],
      candidate: (request) => request.method === 'GET' && request.query.has('crc_token'),
      answer(request) {
        const token = challenge(single(request.query, 'crc_token'), 'crc_token');
        if (typeof token !== 'string') return token;
        const mac = createHmac('sha256', config.consumerSecret).update(token).digest('base64');
        return jsonAnswer({ response_token: `sha256=${mac}` });
      },
    };
  },
};
