import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHALLENGE_LIMIT } from '../../src/handshakes/types.ts';
import { call, preset } from './support.ts';

/**
 * Random handshake-looking calls thrown at every preset: a preset never throws, and whatever it
 * answers echoes at most CHALLENGE_LIMIT bytes of the caller's text, with no control characters.
 */

const PRESETS = [
  { type: 'slack' },
  { type: 'msgraph' },
  { type: 'okta' },
  { type: 'meta', verifyToken: 'prop-verify-token' },
  { type: 'zoom', secretToken: 'prop-secret-token' },
  { type: 'dropbox' },
  { type: 'x', consumerSecret: 'prop-consumer-secret' },
  { type: 'discord' },
  { type: 'twitch' },
  { type: 'woocommerce' },
].map((config) => ({ type: config.type, handshake: preset(config) }));

const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ minLength: CHALLENGE_LIMIT - 4, maxLength: CHALLENGE_LIMIT + 600 }),
  fc.constantFrom('prop-verify-token', 'subscribe', 'url_verification', 'endpoint.url_validation', ''),
);
const param = fc.constantFrom(
  'challenge',
  'crc_token',
  'validationToken',
  'hub.mode',
  'hub.challenge',
  'hub.verify_token',
  'other',
);
const query = fc
  .array(fc.tuple(param, text), { maxLength: 5 })
  .map((pairs) => new URLSearchParams(pairs).toString());
const json = fc.oneof(
  fc.record({
    type: fc.oneof(fc.constant('url_verification'), text),
    challenge: fc.oneof(text, fc.integer(), fc.constant(null)),
  }),
  fc.record({
    type: fc.oneof(fc.constant(1), fc.integer(), text),
    challenge: fc.oneof(text, fc.integer()),
  }),
  fc.record({
    event: fc.oneof(fc.constant('endpoint.url_validation'), text),
    payload: fc.oneof(fc.record({ plainToken: fc.oneof(text, fc.boolean()) }), text),
  }),
  fc.jsonValue(),
);
const body = fc.oneof(
  json.map((value) => JSON.stringify(value)),
  fc.oneof(fc.nat(), text).map((id) => `webhook_id=${id}`),
  text,
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
);
const headers = fc.oneof(
  fc.constant({}),
  text.map((value) => ({ 'x-okta-verification-challenge': value })),
  fc.constant({ 'twitch-eventsub-message-type': 'webhook_callback_verification' }),
);

// The longest answer: a challenge at the limit, JSON-escaped (at most 6 characters a byte), in the
// widest envelope (zoom's, with its 64-digit MAC).
const ANSWER_LIMIT = CHALLENGE_LIMIT * 6 + 200;

describe('handshake presets: random input', () => {
  it('never throw, never echo past the bound, never answer control characters', () => {
    fc.assert(
      fc.property(fc.constantFrom('GET', 'POST'), query, body, headers, (method, q, b, h) => {
        for (const { type, handshake } of PRESETS) {
          const request = call(method, q, b as string | Buffer, h as Record<string, string>);
          if (!handshake.candidate(request)) continue;
          const reply = handshake.answer(request);
          if (reply?.kind !== 'answer') continue;
          expect(reply.status, type).toBe(200);
          expect(reply.body, type).not.toMatch(/[\p{Cc}\p{Zl}\p{Zp}]/u);
          const echoed = reply.headers['content-type']!.startsWith('text/plain')
            ? reply.body
            : String(Object.values(JSON.parse(reply.body) as Record<string, unknown>)[0]);
          expect(Buffer.byteLength(echoed), type).toBeLessThanOrEqual(
            CHALLENGE_LIMIT + 'sha256='.length + 44,
          );
          expect(reply.body.length).toBeLessThan(ANSWER_LIMIT);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
