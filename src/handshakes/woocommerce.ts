/**
 * The `woocommerce` handshake: the ping WooCommerce sends when a webhook is saved as active or its
 * delivery URL changes (`WC_Webhook::deliver_ping()`), a POST whose form body is exactly
 * `webhook_id=<id>`, with no signature and no `X-WC-Webhook-*` headers. WooCommerce wants 200
 * (anything else shows *Delivery URL returned response code: …* in its admin); it reads nothing
 * else of the answer. Answered 200 with an empty body, before `verify` (there is no signature).
 * https://github.com/woocommerce/woocommerce/blob/trunk/plugins/woocommerce/includes/class-wc-webhook.php
 *
 * Unsigned, so anyone can send it: what an unauthenticated caller gains is a 200 to a ping, and
 * nothing else. The answer is the same empty body whatever the id (nothing of the call is echoed),
 * the ping is never forwarded, and it changes no state (no replay window, no queue). Only that one
 * body is answered, and only without `X-WC-Webhook-Signature` or `X-WC-Webhook-Topic` (which every
 * genuine delivery carries): any other call, such as an event with the signature left off or a ping
 * with extra fields, is not the handshake and goes on to `verify`, which refuses it.
 */
import { z } from 'zod';
import type { Plugin } from '../core/registry.ts';
import { type Handshake, type HandshakeRequest, plainText } from './types.ts';

const schema = z.strictObject({ type: z.literal('woocommerce') }).meta({
  title: 'woocommerce',
  description:
    'WooCommerce webhook ping: a POST with the form body `webhook_id=<id>` and no signature, sent when a webhook is saved as active; answered 200 with an empty body, before `verify`. Not signed: anyone can get that 200, nothing else (every other call goes on to `verify`).',
});

const PREFIX = Buffer.from('webhook_id=');
/** `webhook_id=` and the id: WooCommerce's ids are positive integers (`absint`). */
const PING = /^webhook_id=[0-9]{1,20}$/;
const LONGEST = PREFIX.length + 20;

const has = (request: HandshakeRequest, name: string) => request.headers[name] !== undefined;

export const woocommerceHandshake: Plugin<typeof schema, Handshake> = {
  type: 'woocommerce',
  description: 'WooCommerce webhook ping `webhook_id=<id>` (not signed).',
  schema,
  create() {
    return {
      signed: false,
      methods: ['POST'],
      candidate: (request) =>
        request.method === 'POST' &&
        request.body.length <= LONGEST &&
        request.body.subarray(0, PREFIX.length).equals(PREFIX) &&
        !has(request, 'x-wc-webhook-signature'),
      answer(request) {
        if (has(request, 'x-wc-webhook-signature') || has(request, 'x-wc-webhook-topic')) return undefined;
        // latin1: one character a byte, so a non-ASCII byte cannot pass as a digit.
        if (!PING.test(request.body.toString('latin1'))) return undefined;
        return plainText('');
      },
    };
  },
};
