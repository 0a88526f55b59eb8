/**
 * The `discord` verifier preset: interactions endpoints. Discord signs `{timestamp}{body}` with
 * Ed25519 and sends the signature in hex (`X-Signature-Ed25519`) with the timestamp
 * (`X-Signature-Timestamp`); the application's public key verifies it. Discord also sends
 * deliberately bad signatures to check that the endpoint refuses them.
 */
import { z } from 'zod';
import { duration } from '../core/fields.ts';
import { publicKeys, publicKeysField, verifiedMessageKey } from './public-key.ts';
import { createReplayWindow } from './replay.ts';
import { checkTimestamp, replayWindowField } from './signing.ts';
import { fail, headerValue, passed, type VerifierPlugin } from './types.ts';

// https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers
const ED25519_HEX = /^[0-9a-fA-F]{128}$/;

const schema = z
  .strictObject({
    type: z.literal('discord'),
    publicKeys: publicKeysField(
      'ed25519',
      "The application's public key, 64 hex digits as the Developer Portal shows it (General Information → Public Key), or PEM.",
      ['${DISCORD_PUBLIC_KEY}'],
    ),
    tolerance: duration(
      'How far the signed timestamp may be from now, either way (replay protection). Discord documents no limit.',
      '5m',
    ).default(300_000),
    replayWindow: replayWindowField('the signed timestamp and body (Discord sends no message id header)'),
  })
  .meta({
    title: 'discord',
    description:
      'Discord interactions: `X-Signature-Ed25519` (hex Ed25519) over `{timestamp}{body}`, `X-Signature-Timestamp` within `tolerance`. Pair with the `discord` handshake to answer PING.',
  });

export const discordVerifier: VerifierPlugin<typeof schema> = {
  type: 'discord',
  description: 'Discord interactions signature (Ed25519 over timestamp and body, timestamp tolerance).',
  schema,
  preset: {
    provider: 'Discord (interactions)',
    headers: ['X-Signature-Ed25519', 'X-Signature-Timestamp'],
    signed:
      '`{timestamp}{body}`: the timestamp header value immediately followed by the raw body, no separator',
    scheme: 'Ed25519, hex',
    tolerance: '`tolerance`, default 5m (Discord documents none)',
    rotation: 'several `publicKeys` (one per application sharing the route, or the old and new key)',
    docs: 'https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers',
    example: 'type: discord\npublicKeys: ["${DISCORD_PUBLIC_KEY}"]\ntolerance: 5m\nreplayWindow: 10m',
    handshake: 'type: discord',
    notes:
      'The key is public (it verifies, it cannot sign). Discord sends a PING (`"type": 1`) when the Interactions Endpoint URL is saved and expects `{"type":1}` back: add `handshake: { type: discord }` to the route, which answers it only after this check passed. Discord also sends badly signed requests and disables the URL unless they are refused: they get 401 here. An interaction must be answered within 3 seconds, so the route should forward synchronously to a fast target. Discord documents no timestamp limit; the 5-minute `tolerance` is hookrelay\'s. There is no message id header: `replayWindow` remembers the signed timestamp and body under the key that verified them, so a byte-identical resend is refused.',
  },
  create(config) {
    const keys = publicKeys(config.publicKeys, 'ed25519');
    return {
      replay: config.replayWindow === undefined ? undefined : createReplayWindow(config.replayWindow),
      verify(request, now) {
        const signature = headerValue(request.headers, 'x-signature-ed25519');
        if (!signature) return fail('missing', 'no X-Signature-Ed25519 header');
        const timestamp = headerValue(request.headers, 'x-signature-timestamp');
        const refused = checkTimestamp(timestamp, 'X-Signature-Timestamp', now, config.tolerance);
        if (refused) return refused;
        if (!ED25519_HEX.test(signature))
          return fail('malformed', 'X-Signature-Ed25519 is not 128 hex digits');
        const signed = Buffer.concat([Buffer.from(timestamp!), request.body]);
        const raw = Buffer.from(signature, 'hex');
        const matched = verifiedMessageKey(keys, 'ed25519', signed, raw);
        if (matched === undefined) return fail('mismatch', 'signature does not verify under any public key');
        return passed(undefined, matched);
      },
    };
  },
};
