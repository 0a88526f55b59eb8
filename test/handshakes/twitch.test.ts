import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, sample, startRelay, startTarget, type Target } from '../helpers.ts';
import { call, preset, reply } from './support.ts';

/**
 * Twitch EventSub's webhook_callback_verification: answered with the challenge as text/plain, only
 * once the `twitch` verifier passed; never forwarded; notifications go on to the target.
 * https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#responding-to-a-challenge-request
 */

const SECRET = 'twitch-eventsub-handshake-secret';
// Twitch's documented example challenge request body.
const CHALLENGE = 'pogchamp-kappa-360noscope-vohiyo';
const VERIFICATION = `{"challenge":"${CHALLENGE}","subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","status":"webhook_callback_verification_pending","type":"channel.follow","version":"2","condition":{"broadcaster_user_id":"12826"},"transport":{"method":"webhook","callback":"https://example.com/webhooks/callback"},"created_at":"2019-11-16T10:11:12.634234626Z"}}`;
const NOTIFICATION = '{"subscription":{"type":"channel.follow"},"event":{"user_id":"1337"}}';
const VERIFY_TYPE = { 'Twitch-Eventsub-Message-Type': 'webhook_callback_verification' };

let sequence = 0;
function signed(secret: string, type: string, body: string, at = Date.now()): Record<string, string> {
  const id = `msg-${++sequence}`;
  const timestamp = new Date(at).toISOString();
  const signature = createHmac('sha256', secret)
    .update(id + timestamp + body)
    .digest('hex');
  return {
    'content-type': 'application/json',
    'twitch-eventsub-message-id': id,
    'twitch-eventsub-message-timestamp': timestamp,
    'twitch-eventsub-message-type': type,
    'twitch-eventsub-message-signature': `sha256=${signature}`,
  };
}

const PLAIN = {
  'content-type': 'text/plain; charset=utf-8',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; sandbox",
  'cache-control': 'no-store',
};

describe('handshake: twitch', () => {
  it('the verification is answered with the challenge; other message types go on; no challenge is refused', () => {
    const twitch = preset({ type: 'twitch' });
    expect(twitch.signed).toBe(true);
    expect(twitch.methods).toEqual(['POST']);
    expect(reply(twitch, call('POST', '', VERIFICATION, VERIFY_TYPE))).toEqual({
      kind: 'answer',
      status: 200,
      headers: PLAIN,
      body: CHALLENGE,
    });
    // A notification or revocation whose body mentions a challenge is not the handshake.
    const notification = { 'Twitch-Eventsub-Message-Type': 'notification' };
    expect(reply(twitch, call('POST', '', VERIFICATION, notification))).toBeUndefined();
    expect(
      reply(twitch, call('POST', '', VERIFICATION, { 'Twitch-Eventsub-Message-Type': 'revocation' })),
    ).toBeUndefined();
    expect(reply(twitch, call('POST', '', VERIFICATION))).toBeUndefined();
    expect(reply(twitch, call('GET', '', VERIFICATION, VERIFY_TYPE))).toBeUndefined();
    const malformed = { kind: 'refuse', reason: 'malformed' };
    expect(reply(twitch, call('POST', '', '{"subscription":{}}', VERIFY_TYPE))).toMatchObject(malformed);
    expect(reply(twitch, call('POST', '', '{"challenge":42}', VERIFY_TYPE))).toMatchObject(malformed);
    expect(reply(twitch, call('POST', '', 'not json', VERIFY_TYPE))).toMatchObject(malformed);
    expect(reply(twitch, call('POST', '', '{"challenge":"a\\nb"}', VERIFY_TYPE))).toMatchObject(malformed);
  });

  describe('through a relay', () => {
    let target: Target;
    let relay: Relay;
    afterEach(async () => {
      await relay?.close();
      await target?.close();
    });

    it('answered only after verify twitch passed; never forwarded; notifications reach the target', async () => {
      target = await startTarget();
      relay = await startRelay(
        `
routes:
  - id: twitch
    path: /in/twitch
    handshake: { type: twitch }
    verify:
      - type: twitch
        secrets: ["\${TWITCH_EVENTSUB_SECRET}"]
        replayWindow: 10m
    forward:
      url: ${target.url}/events
`,
        { TWITCH_EVENTSUB_SECRET: SECRET },
      );
      const post = (headers: Record<string, string>, body: string) =>
        fetch(`${relay.url}/in/twitch`, { method: 'POST', headers, body });

      const ok = await post(signed(SECRET, 'webhook_callback_verification', VERIFICATION), VERIFICATION);
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(ok.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await ok.text()).toBe(CHALLENGE);

      const forged = await post(
        signed('not-the-eventsub-secret', 'webhook_callback_verification', VERIFICATION),
        VERIFICATION,
      );
      expect(forged.status).toBe(401);
      expect(await forged.text()).not.toContain(CHALLENGE);
      const stale = await post(
        signed(SECRET, 'webhook_callback_verification', VERIFICATION, Date.now() - 700_000),
        VERIFICATION,
      );
      expect(stale.status).toBe(401);

      const event = await post(signed(SECRET, 'notification', NOTIFICATION), NOTIFICATION);
      expect(event.status).toBe(200);
      expect(target.received.map((r) => r.body.toString())).toEqual([NOTIFICATION]);
      const text = await (await fetch(`${relay.url}/metrics`)).text();
      expect(
        sample(text, 'hookrelay_verify_failures_total', {
          route: 'twitch',
          verifier: 'twitch',
          reason: 'mismatch',
        }),
      ).toBe(1);
      expect(
        sample(text, 'hookrelay_verify_failures_total', {
          route: 'twitch',
          verifier: 'twitch',
          reason: 'expired',
        }),
      ).toBe(1);
    });
  });
});
