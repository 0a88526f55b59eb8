/**
 * The `zoom` handshake: endpoint URL validation, a signed POST
 * `{"event":"endpoint.url_validation","payload":{"plainToken":"…"}}`, answered 200 with
 * `{"plainToken":"…","encryptedToken":"<hex HMAC-SHA256 of plainToken under the Secret Token>"}`.
 * Zoom signs it like every event (`x-zm-signature: v0=<hex>` over `v0:{timestamp}:{body}`), so the
 * route's `verify` (an `hmac` verifier with that scheme) applies first.
 * https://developers.zoom.us/docs/api/webhooks/#validate-your-webhook-endpoint
 */
import { createHmac } from 'node:crypto';
import { z } from 'zod';
import type { Plugin } from '../core/registry.ts';
import { challenge, field, type Handshake, jsonAnswer } from './types.ts';

const schema = z
  .strictObject({
    type: z.literal('zoom'),
    secretToken: z.string().min(1).meta({
      secret: true,
      description: "The app's Secret Token (Features → Access), the key of `encryptedToken`.",
      example: '${ZOOM_SECRET_TOKEN}',
    }),
  })
  .meta({
    title: 'zoom',
    description:
      'Zoom `endpoint.url_validation`: a signed POST with `payload.plainToken`, answered 200 `{"plainToken","encryptedToken"}` (hex HMAC-SHA256 of plainToken under `secretToken`). Answered after `verify`.',
  });

const MARK = Buffer.from('endpoint.url_validation');

export const zoomHandshake: Plugin<typeof schema, Handshake> = {
  type: 'zoom',
  description: 'Zoom endpoint.url_validation (signed: answered after `verify`).',
  schema,
  create(config) {
    return {
      signed: true,
      methods: ['POST'],
      candidate: (request) => request.method === 'POST' && request.body.includes(MARK),
      answer(request) {
        const body = request.json();
        if (field(body, 'event') !== 'endpoint.url_validation') return undefined;
        const plainToken = challenge(field(field(body, 'payload'), 'plainToken'), 'payload.plainToken');
        if (typeof plainToken !== 'string') return plainToken;
        const encryptedToken = createHmac('sha256', config.secretToken).update(plainToken).digest('hex');
        return jsonAnswer({ plainToken, encryptedToken });
      },
    };
  },
};
