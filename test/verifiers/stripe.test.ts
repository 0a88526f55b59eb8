import Stripe from 'stripe';
import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, startRelay, startTarget, type Target } from '../helpers.ts';
import { presetSuite, type Signer } from './preset-suite.ts';
import { expectCleanLogs, failures, outcome, request, verifier } from './support.ts';

const stripe = new Stripe('sk_test_not_used');
const SECRET = 'whsec_old_0123456789abcdef';
const NEXT = 'whsec_new_fedcba9876543210';
const BODY =
  '{"id":"evt_1","object":"event","type":"payment_intent.succeeded","data":{"object":{"amount":4200}}}';

const header = (secret: string, timestamp: number, payload = BODY) =>
  stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
const v1Of = (h: string) => h.slice(h.indexOf('v1=') + 3);

describe('verify: stripe', () => {
  const now = Date.now();
  const t = Math.floor(now / 1000);

  it('accepts what stripe.webhooks.generateTestHeaderString signs, as constructEvent does', async () => {
    const v = verifier({ type: 'stripe', secrets: [SECRET] });
    const h = header(SECRET, t);
    expect(stripe.webhooks.constructEvent(BODY, h, SECRET).id).toBe('evt_1');
    expect(await outcome(v, request(BODY, { 'stripe-signature': h }), now)).toBe('ok');
    // And the library refuses what we refuse.
    const tampered = `${BODY} `;
    expect(() => stripe.webhooks.constructEvent(tampered, h, SECRET)).toThrow(/No signatures found/);
    expect(await outcome(v, request(tampered, { 'stripe-signature': h }), now)).toBe('mismatch');
  });

  it('table: rotation, several v1, v0 ignored, wrong, missing, malformed and stale', async () => {
    const v = verifier({ type: 'stripe', secrets: [SECRET, NEXT], tolerance: '5m' });
    const other = header('whsec_someone_else', t);
    const old = header(SECRET, t);
    const cases: [string | undefined, number, string][] = [
      [old, now, 'ok'],
      [header(NEXT, t), now, 'ok'],
      // Stripe rolling its own secret signs with both: any matching v1 is enough.
      [`t=${t},v1=${v1Of(other)},v1=${v1Of(header(NEXT, t))}`, now, 'ok'],
      [`t=${t},v0=${v1Of(old)}`, now, 'malformed'],
      [`t=${t},v0=${v1Of(other)},v1=${v1Of(old)}`, now, 'ok'],
      [other, now, 'mismatch'],
      [undefined, now, 'missing'],
      [`v1=${v1Of(old)}`, now, 'malformed'],
      ['garbage', now, 'malformed'],
      [`t=abc,v1=${v1Of(old)}`, now, 'malformed'],
      // A valid signature whose timestamp is outside the tolerance, either way.
      [old, now + 301_000, 'expired'],
      [old, now - 301_000, 'expired'],
      [old, now + 299_000, 'ok'],
    ];
    for (const [h, at, expected] of cases) {
      const headers: Record<string, string> = h === undefined ? {} : { 'stripe-signature': h };
      expect(await outcome(v, request(BODY, headers), at), String(h)).toBe(expected);
    }
    // The library agrees on the stale one.
    expect(() => stripe.webhooks.constructEvent(BODY, header(SECRET, t - 301), SECRET)).toThrow(/tolerance/);
  });

  describe('through a relay', () => {
    let target: Target;
    let relay: Relay;
    afterEach(async () => {
      await relay?.close();
      await target?.close();
    });

    it('forwards a signed event; a stale one is refused as expired and not forwarded', async () => {
      target = await startTarget();
      relay = await startRelay(
        `
routes:
  - id: stripe
    path: /in/stripe
    verify:
      - type: stripe
        secrets: ["\${STRIPE_WEBHOOK_SECRET}"]
    forward:
      url: ${target.url}/payments
`,
        { STRIPE_WEBHOOK_SECRET: SECRET },
      );
      const post = (signature: string) =>
        fetch(`${relay.url}/in/stripe`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'stripe-signature': signature },
          body: BODY,
        });
      const good = header(SECRET, Math.floor(Date.now() / 1000));
      expect((await post(good)).status).toBe(200);
      const stale = header(SECRET, Math.floor(Date.now() / 1000) - 600);
      const res = await post(stale);
      expect(res.status).toBe(401);
      expect(((await res.json()) as { message: string }).message).toContain('(verify[0] (stripe): expired)');
      expect((await post(header(NEXT, Math.floor(Date.now() / 1000)))).status).toBe(401);
      expect(target.received.map((r) => r.body.toString())).toEqual([BODY]);
      expect(await failures(relay, 'stripe', 'stripe', 'expired')).toBe(1);
      expect(await failures(relay, 'stripe', 'stripe', 'mismatch')).toBe(1);
      expectCleanLogs(relay, [SECRET, NEXT], [v1Of(good), v1Of(stale)]);
    });
  });
});

const stripeSigner = (secret: string): Signer => ({
  configValue: secret,
  sign: ({ body, at }) => ({
    headers: {
      'stripe-signature': stripe.webhooks.generateTestHeaderString({
        payload: body.toString(),
        secret,
        timestamp: Math.floor(at / 1000),
      }),
    },
  }),
});
presetSuite({
  type: 'stripe',
  config: (secrets) => ({ secrets }),
  signers: [stripeSigner(SECRET), stripeSigner(NEXT)],
  wrong: stripeSigner('whsec_someone_else_000'),
  body: BODY,
  contentType: 'application/json',
  signatureHeaders: ['stripe-signature'],
  toleranceMs: 300_000,
});
