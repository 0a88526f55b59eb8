import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { EventWebhook } from '@sendgrid/eventwebhook';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { verifierSchema } from '../../src/verifiers/index.ts';
import { sendgridVerifier } from '../../src/verifiers/sendgrid.ts';
import { presetSuite, type Signer } from './preset-suite.ts';
import { outcome, request, verifier } from './support.ts';

const SIGNATURE = 'x-twilio-email-event-webhook-signature';
const TIMESTAMP = 'x-twilio-email-event-webhook-timestamp';
const BODY =
  '[{"email":"ada@example.com","event":"delivered","sg_event_id":"ZGVsaXZlcmVkLTAtMjQ","timestamp":1600112492}]\r\n';

interface Pair {
  publicKey: string;
  privateKey: KeyObject;
}
const pair = (): Pair => {
  const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    publicKey: keys.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
    privateKey: keys.privateKey,
  };
};

/** Signs as SendGrid does: ECDSA P-256 / SHA-256 over `{timestamp}{body}`, the DER signature in base64. */
const signWith = (key: Pair, timestamp: string, body: Buffer | string) =>
  sign('sha256', Buffer.concat([Buffer.from(timestamp), Buffer.from(body)]), key.privateKey).toString(
    'base64',
  );

const signer = (key: Pair): Signer => ({
  configValue: key.publicKey,
  sign: ({ body, at }) => {
    const timestamp = String(Math.floor(at / 1000));
    return { headers: { [SIGNATURE]: signWith(key, timestamp, body), [TIMESTAMP]: timestamp } };
  },
});

const OLD = pair();
const NEW = pair();
const WRONG = pair();

presetSuite({
  type: 'sendgrid',
  config: (publicKeys) => ({ publicKeys }),
  signers: [signer(OLD), signer(NEW)],
  wrong: signer(WRONG),
  body: BODY,
  contentType: 'application/json',
  signatureHeaders: [SIGNATURE],
  toleranceMs: 300_000,
});

const library = new EventWebhook();
const libraryVerifies = (key: Pair | string, body: string, signature: string, timestamp: string) =>
  library.verifySignature(
    library.convertPublicKeyToECDSA(typeof key === 'string' ? key : key.publicKey),
    body,
    signature,
    timestamp,
  );

describe('verify: sendgrid', () => {
  const now = Date.now();
  const ts = String(Math.floor(now / 1000));

  it("accepts the vector of @sendgrid/eventwebhook's own tests", async () => {
    // From the library's eventwebhook.spec.js: a real key, signature and payload.
    const key =
      'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==';
    const signature =
      'MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM=';
    const timestamp = '1600112502';
    const payload = `${JSON.stringify([
      {
        email: 'hello@world.com',
        event: 'dropped',
        reason: 'Bounced Address',
        sg_event_id: 'ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA',
        sg_message_id: 'LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0',
        'smtp-id': '<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>',
        timestamp: 1600112492,
      },
    ])}\r\n`;
    expect(libraryVerifies(key, payload, signature, timestamp)).toBe(true);
    const v = verifier({ type: 'sendgrid', publicKeys: [key] });
    const at = Number(timestamp) * 1000;
    const headers = { [SIGNATURE]: signature, [TIMESTAMP]: timestamp };
    expect(await outcome(v, request(payload, headers), at)).toBe('ok');
    // Without the trailing CRLF the bytes differ: refused, by the library too.
    expect(libraryVerifies(key, payload.trimEnd(), signature, timestamp)).toBe(false);
    expect(await outcome(v, request(payload.trimEnd(), headers), at)).toBe('mismatch');
  });

  it('the library accepts what we accept and refuses the tampered one', async () => {
    const v = verifier({ type: 'sendgrid', publicKeys: [OLD.publicKey] });
    const signature = signWith(OLD, ts, BODY);
    expect(libraryVerifies(OLD, BODY, signature, ts)).toBe(true);
    expect(await outcome(v, request(BODY, { [SIGNATURE]: signature, [TIMESTAMP]: ts }), now)).toBe('ok');
    const tampered = BODY.replace('delivered', 'bounce');
    expect(libraryVerifies(OLD, tampered, signature, ts)).toBe(false);
    expect(await outcome(v, request(tampered, { [SIGNATURE]: signature, [TIMESTAMP]: ts }), now)).toBe(
      'mismatch',
    );
  });

  it('table: PEM keys, timestamp signed, malformed, missing', async () => {
    const pem = (key: Pair) =>
      `-----BEGIN PUBLIC KEY-----\n${key.publicKey.match(/.{1,64}/g)!.join('\n')}\n-----END PUBLIC KEY-----\n`;
    const v = verifier({ type: 'sendgrid', publicKeys: [pem(NEW)] });
    const signature = signWith(NEW, ts, BODY);
    const cases: [string, Record<string, string>, string][] = [
      ['PEM key', { [SIGNATURE]: signature, [TIMESTAMP]: ts }, 'ok'],
      [
        'another timestamp (it is signed)',
        { [SIGNATURE]: signature, [TIMESTAMP]: String(Number(ts) - 1) },
        'mismatch',
      ],
      [
        'P1363 signature',
        {
          [SIGNATURE]: sign('sha256', Buffer.from(ts + BODY), {
            key: NEW.privateKey,
            dsaEncoding: 'ieee-p1363',
          }).toString('base64'),
          [TIMESTAMP]: ts,
        },
        'mismatch',
      ],
      ['signature not base64', { [SIGNATURE]: 'not a signature!', [TIMESTAMP]: ts }, 'malformed'],
      ['signature too long', { [SIGNATURE]: 'A'.repeat(200), [TIMESTAMP]: ts }, 'malformed'],
      ['timestamp not a number', { [SIGNATURE]: signature, [TIMESTAMP]: 'now' }, 'malformed'],
      ['no timestamp', { [SIGNATURE]: signature }, 'missing'],
      ['no signature', { [TIMESTAMP]: ts }, 'missing'],
    ];
    for (const [name, h, expected] of cases)
      expect(await outcome(v, request(BODY, h), now), name).toBe(expected);
  });

  it('keys that are not P-256 public keys are config errors', () => {
    const ed = generateKeyPairSync('ed25519')
      .publicKey.export({ type: 'spki', format: 'der' })
      .toString('base64');
    expect(() => verifier({ type: 'sendgrid', publicKeys: [ed] })).toThrow(/not an ECDSA P-256/);
    expect(() => verifier({ type: 'sendgrid', publicKeys: ['not a key!'] })).toThrow(
      /not an ECDSA public key/,
    );
  });

  it("the preset's example parses", () => {
    const text = sendgridVerifier.preset!.example.replaceAll('${SENDGRID_WEBHOOK_PUBLIC_KEY}', OLD.publicKey);
    expect(verifierSchema.parse(load(text))).toMatchObject({ type: 'sendgrid', publicKeys: [OLD.publicKey] });
  });
});
