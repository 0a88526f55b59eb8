/**
 * The `adyen` verifier preset: Adyen standard (payment) notifications, base64 HMAC-SHA256 under a
 * hex key over named fields of each `NotificationRequestItem`, carried in
 * `additionalData.hmacSignature`. Every item of the body must verify.
 */
import { z } from 'zod';
import { configCode } from '../core/config-codes.ts';
import { isJsonObject, isNumber, numberText, parseJsonText } from '../core/json.ts';
import { findMatch } from './compare.ts';
import { createReplayWindow } from './replay.ts';
import { BASE64_SHA256, macs, replayWindowField, secretsField } from './signing.ts';
import { fail, passed, type VerifierPlugin, type VerifyResult } from './types.ts';

// https://docs.adyen.com/development-resources/webhooks/secure-webhooks/verify-hmac-signatures/
const HEX_KEY = /^(?:[0-9a-fA-F]{2})+$/;
/** The fields signed, in order (`value` and `currency` are read from `amount`). */
const SIGNED = ['pspReference', 'originalReference', 'merchantAccountCode', 'merchantReference'] as const;

const schema = z
  .strictObject({
    type: z.literal('adyen'),
    secrets: secretsField('The HMAC key of the webhook (Customer Area, Developers, Webhooks), hex.', [
      '${ADYEN_HMAC_KEY}',
    ]),
    replayWindow: replayWindowField(
      '`pspReference` and `eventCode` of the items (both signed) and the signatures',
    ),
  })
  .superRefine((config, ctx) => {
    config.secrets.forEach((secret, index) => {
      // Never quote the value: it is a secret.
      if (!HEX_KEY.test(secret.trim()))
        ctx.addIssue({
          code: 'custom',
          params: configCode('HOOKRELAY_CONFIG_INVALID_VALUE'),
          path: ['secrets', index],
          message: 'is not a hex HMAC key (an even number of hex digits)',
        });
    });
  })
  .meta({
    title: 'adyen',
    description:
      'Adyen standard notifications: each `NotificationRequestItem` carries `additionalData.hmacSignature`, base64 HMAC-SHA256 (hex key) of `pspReference:originalReference:merchantAccountCode:merchantReference:value:currency:eventCode:success`. Every item must verify. No timestamp is signed; use `replayWindow`.',
  });

/** A signed field as Adyen writes it: a missing one is empty, a number its JSON text. */
function field(value: unknown): string | undefined {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (isNumber(value)) return numberText(value);
  if (typeof value === 'boolean') return String(value);
  return undefined;
}

/** The text an item signs, its signature, and its id; or why it cannot be checked. */
function readItem(entry: unknown): { data: string; signature: string; id: string } | VerifyResult {
  const item = isJsonObject(entry) ? entry.NotificationRequestItem : undefined;
  if (!isJsonObject(item)) return fail('malformed', 'an item is not a NotificationRequestItem object');
  const extra = item.additionalData;
  const signature = isJsonObject(extra) ? extra.hmacSignature : undefined;
  if (signature === undefined || signature === '') return fail('missing', 'an item has no hmacSignature');
  if (typeof signature !== 'string' || !BASE64_SHA256.test(signature))
    return fail('malformed', 'an hmacSignature is not a base64 SHA-256');
  const amount = item.amount ?? {};
  if (!isJsonObject(amount)) return fail('malformed', 'an item amount is not an object');
  const values = [
    ...SIGNED.map((name) => field(item[name])),
    field(amount.value),
    field(amount.currency),
    field(item.eventCode),
    field(item.success),
  ];
  if (values.some((v) => v === undefined))
    return fail('malformed', 'a signed field of an item is not a value');
  return { data: values.join(':'), signature, id: `${values[0]}:${values[6]}` };
}

export const adyenVerifier: VerifierPlugin<typeof schema> = {
  type: 'adyen',
  description:
    'Adyen standard notification HMAC (additionalData.hmacSignature of every item), optional replay window.',
  schema,
  preset: {
    provider: 'Adyen',
    headers: [],
    signed:
      'for each `NotificationRequestItem` of `notificationItems`: `{pspReference}:{originalReference}:{merchantAccountCode}:{merchantReference}:{amount.value}:{amount.currency}:{eventCode}:{success}` (a missing field is empty), read from the parsed JSON body',
    scheme: 'HMAC-SHA256 (hex key), base64, in `additionalData.hmacSignature` of each item',
    tolerance: 'none (Adyen signs no timestamp): use `replayWindow`',
    rotation:
      'several `secrets`: list the new and the old HMAC key while Adyen switches the webhook to the new one, then remove the old one (each item may match either)',
    docs: 'https://docs.adyen.com/development-resources/webhooks/secure-webhooks/verify-hmac-signatures/',
    example: 'type: adyen\nsecrets: ["${ADYEN_HMAC_KEY}"]\nreplayWindow: 1h',
    notes:
      "**Adyen signs named fields, not the body**: the signature covers only the eight fields above, so everything else in an item (`additionalData`, `eventDate`, `reason`, `paymentMethod`, `operations`) and the body's `live` flag can be changed and the request still passes; rely on the signed fields only. Every item in `notificationItems` must carry a valid `hmacSignature` (one bad or unsigned item refuses the whole call). The body is parsed as JSON (within the route's `limits.body`, nested at most 64 deep); anything else is refused as `malformed`. Numbers are signed as written in the body (`1000`). The key is the webhook's HMAC key in hex, as Adyen shows it. This is the standard (payment) notification scheme; Adyen's Banking and Management webhooks sign the raw body in an `HmacSignature` header instead and are not covered.",
  },
  create(config) {
    const keys = config.secrets.map((secret) => Buffer.from(secret.trim(), 'hex'));
    return {
      replay: config.replayWindow === undefined ? undefined : createReplayWindow(config.replayWindow),
      verify(request) {
        let root: unknown;
        try {
          // The body is already within the route's `limits.body`; the depth is bounded before parsing.
          root = parseJsonText(request.body.toString('utf8'));
        } catch {
          return fail('malformed', 'the body is not JSON within the depth limit');
        }
        const items = isJsonObject(root) ? root.notificationItems : undefined;
        if (!Array.isArray(items) || items.length === 0)
          return fail('malformed', 'the body has no notificationItems');
        const ids: string[] = [];
        const matched: string[] = [];
        for (const entry of items) {
          const item = readItem(entry);
          if ('ok' in item) return item;
          const match = findMatch([item.signature], macs('sha256', keys, [item.data], 'base64'));
          if (match === undefined) return fail('mismatch', 'the hmacSignature of an item does not match');
          ids.push(item.id);
          matched.push(match);
        }
        return passed(ids.join(','), matched.join(','));
      },
    };
  },
};
