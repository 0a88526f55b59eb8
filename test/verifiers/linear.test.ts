import { createHmac } from 'node:crypto';
import { LinearWebhookClient } from '@linear/sdk/webhooks';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { verifierSchema } from '../../src/verifiers/index.ts';
import { linearVerifier } from '../../src/verifiers/linear.ts';
import { presetSuite, type Signer } from './preset-suite.ts';
import { outcome, request, verifier } from './support.ts';

const OLD = 'lin_wh_old_0123456789abcdefghij';
const NEW = 'lin_wh_new_abcdefghij0123456789';
const WRONG = 'lin_wh_someone_else_000000000000';

/** A Linear payload sent at `at` (ms): the timestamp Linear checks is inside the signed body. */
const payload = (at: number, title = 'Fix the relay') =>
  `{"action":"create","type":"Issue","data":{"id":"9f2c1a4e-5b1d-4c1e-9a7f-0c2b3d4e5f60","title":"${title}","number":42},"url":"https://linear.app/acme/issue/ENG-42","createdAt":"2026-12-06T21:30:00.000Z","organizationId":"5e1c7b2a-8d3f-4a6b-9c0d-1e2f3a4b5c6d","webhookTimestamp":${at},"webhookId":"0d8e3f1a-2b4c-4d6e-8f0a-1b2c3d4e5f6a"}`;

// The SDK only verifies: signed here per Linear's documentation (hex HMAC-SHA256 of the raw body).
const hmac = (secret: string, body: Buffer | string) =>
  createHmac('sha256', secret).update(body).digest('hex');

/** The suite's body is replaced by a payload carrying the signing time. */
const signer = (secret: string): Signer => ({
  configValue: secret,
  sign: ({ at, id }) => {
    const body = Buffer.from(payload(at));
    return { headers: { 'linear-signature': hmac(secret, body), 'linear-delivery': id }, body };
  },
});

presetSuite({
  type: 'linear',
  config: (secrets) => ({ secrets }),
  signers: [signer(OLD), signer(NEW)],
  wrong: signer(WRONG),
  body: payload(0),
  contentType: 'application/json; charset=utf-8',
  signatureHeaders: ['linear-signature'],
  toleranceMs: 60_000,
});

describe('verify: linear', () => {
  const now = Date.now();

  it("@linear/sdk's LinearWebhookClient.verify accepts what we accept and refuses the tampered one", async () => {
    const client = new LinearWebhookClient(OLD);
    const v = verifier({ type: 'linear', secrets: [OLD] });
    const body = payload(Date.now());
    const signature = hmac(OLD, body);
    expect(client.verify(Buffer.from(body), signature)).toBe(true);
    expect(client.parseData(Buffer.from(body), signature)).toMatchObject({ type: 'Issue', action: 'create' });
    expect(await outcome(v, request(body, { 'linear-signature': signature }))).toBe('ok');
    const tampered = body.replace('Fix the relay', 'Break the relay');
    expect(() => client.verify(Buffer.from(tampered), signature)).toThrow(/signature/);
    expect(await outcome(v, request(tampered, { 'linear-signature': signature }))).toBe('mismatch');
    // Stale by more than Linear's minute: the library refuses it, and so do we.
    const stale = payload(Date.now() - 61_000);
    expect(() => client.verify(Buffer.from(stale), hmac(OLD, stale))).toThrow(/timestamp/);
    expect(await outcome(v, request(stale, { 'linear-signature': hmac(OLD, stale) }))).toBe('expired');
  });

  it('table: the timestamp is the signed body field, malformed and missing', async () => {
    const v = verifier({ type: 'linear', secrets: [NEW] });
    const sig = (body: string) => ({ 'linear-signature': hmac(NEW, body) });
    const body = payload(now);
    const nested = `{"type":"Issue","data":{"webhookTimestamp":${now}}}`;
    const cases: [string, string, Record<string, string>, string][] = [
      ['genuine', body, sig(body), 'ok'],
      ['uppercase hex', body, { 'linear-signature': hmac(NEW, body).toUpperCase() }, 'ok'],
      // The header is not signed: a fresh one does not save a stale body.
      [
        'stale body, fresh Linear-Timestamp header',
        payload(now - 120_000),
        { ...sig(payload(now - 120_000)), 'linear-timestamp': String(now) },
        'expired',
      ],
      ['from the future', payload(now + 120_000), sig(payload(now + 120_000)), 'expired'],
      [
        'timestamp in seconds',
        payload(Math.floor(now / 1000)),
        sig(payload(Math.floor(now / 1000))),
        'expired',
      ],
      ['only a nested webhookTimestamp', nested, sig(nested), 'missing'],
      ['no webhookTimestamp', '{"type":"Issue"}', sig('{"type":"Issue"}'), 'missing'],
      [
        'timestamp a string',
        `{"webhookTimestamp":"${now}"}`,
        sig(`{"webhookTimestamp":"${now}"}`),
        'malformed',
      ],
      ['signed but not JSON', 'webhookTimestamp', sig('webhookTimestamp'), 'malformed'],
      [
        'signed JSON array',
        `[{"webhookTimestamp":${now}}]`,
        sig(`[{"webhookTimestamp":${now}}]`),
        'malformed',
      ],
      [
        'too deep',
        `${'{"a":'.repeat(100)}1${'}'.repeat(100)}`,
        sig(`${'{"a":'.repeat(100)}1${'}'.repeat(100)}`),
        'malformed',
      ],
      [
        'unsigned garbage is refused before any parse',
        '{{{{',
        { 'linear-signature': 'a'.repeat(64) },
        'mismatch',
      ],
      ['sha256= prefix', body, { 'linear-signature': `sha256=${hmac(NEW, body)}` }, 'malformed'],
      ['no signature', body, {}, 'missing'],
    ];
    for (const [name, b, h, expected] of cases)
      expect(await outcome(v, request(b, h), now), name).toBe(expected);
  });

  it('the tolerance is configurable', async () => {
    const v = verifier({ type: 'linear', secrets: [NEW], tolerance: '5m' });
    const body = payload(now - 120_000);
    expect(await outcome(v, request(body, { 'linear-signature': hmac(NEW, body) }), now)).toBe('ok');
  });

  it("the preset's example parses", () => {
    const text = linearVerifier.preset!.example.replaceAll('${LINEAR_WEBHOOK_SECRET}', OLD);
    expect(verifierSchema.parse(load(text))).toMatchObject({
      type: 'linear',
      secrets: [OLD],
      tolerance: 60_000,
    });
  });
});
