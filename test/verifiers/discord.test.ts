import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { verifyKey } from 'discord-interactions';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { handshakeSchema } from '../../src/handshakes/index.ts';
import { discordVerifier } from '../../src/verifiers/discord.ts';
import { verifierSchema } from '../../src/verifiers/index.ts';
import { presetSuite, type Signer } from './preset-suite.ts';
import { outcome, request, verifier } from './support.ts';

const BODY =
  '{"type":2,"id":"1183457295017947136","application_id":"1183456963206561813","data":{"name":"ping"},"token":"aW50ZXJhY3Rpb246MTE4"}';

interface Pair {
  /** 64 hex digits, as the Developer Portal shows the key. */
  publicKey: string;
  privateKey: KeyObject;
}
const pair = (): Pair => {
  const keys = generateKeyPairSync('ed25519');
  const der = keys.publicKey.export({ type: 'spki', format: 'der' });
  return { publicKey: der.subarray(-32).toString('hex'), privateKey: keys.privateKey };
};

/** Signs as Discord does: Ed25519 over `{timestamp}{body}`, hex. */
const signWith = (key: Pair, timestamp: string, body: Buffer | string) =>
  sign(null, Buffer.concat([Buffer.from(timestamp), Buffer.from(body)]), key.privateKey).toString('hex');

const signer = (key: Pair): Signer => ({
  configValue: key.publicKey,
  sign: ({ body, at }) => {
    const timestamp = String(Math.floor(at / 1000));
    return {
      headers: { 'x-signature-ed25519': signWith(key, timestamp, body), 'x-signature-timestamp': timestamp },
    };
  },
});

const OLD = pair();
const NEW = pair();
const WRONG = pair();

presetSuite({
  type: 'discord',
  config: (publicKeys) => ({ publicKeys }),
  signers: [signer(OLD), signer(NEW)],
  wrong: signer(WRONG),
  body: BODY,
  contentType: 'application/json',
  signatureHeaders: ['x-signature-ed25519'],
  toleranceMs: 300_000,
});

describe('verify: discord', () => {
  const now = Date.now();
  const ts = String(Math.floor(now / 1000));
  const headers = (signature: string, timestamp = ts) => ({
    'x-signature-ed25519': signature,
    'x-signature-timestamp': timestamp,
  });

  it("discord-interactions' verifyKey accepts what we accept and refuses the tampered one", async () => {
    const v = verifier({ type: 'discord', publicKeys: [OLD.publicKey] });
    const signature = signWith(OLD, ts, BODY);
    expect(await verifyKey(BODY, signature, ts, OLD.publicKey)).toBe(true);
    expect(await outcome(v, request(BODY, headers(signature)), now)).toBe('ok');
    const tampered = BODY.replace('ping', 'pong');
    expect(await verifyKey(tampered, signature, ts, OLD.publicKey)).toBe(false);
    expect(await outcome(v, request(tampered, headers(signature)), now)).toBe('mismatch');
    // The timestamp is signed.
    const later = String(Number(ts) + 1);
    expect(await verifyKey(BODY, signature, later, OLD.publicKey)).toBe(false);
    expect(await outcome(v, request(BODY, headers(signature, later)), now)).toBe('mismatch');
  });

  it('table: uppercase hex, PEM keys, malformed and missing', async () => {
    const pem = generateKeyPairSync('ed25519');
    const pemPair: Pair = {
      publicKey: pem.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      privateKey: pem.privateKey,
    };
    const v = verifier({ type: 'discord', publicKeys: [NEW.publicKey.toUpperCase(), pemPair.publicKey] });
    const good = signWith(NEW, ts, BODY);
    const cases: [string, Record<string, string>, string][] = [
      ['genuine', headers(good), 'ok'],
      ['uppercase signature', headers(good.toUpperCase()), 'ok'],
      ['PEM key', headers(signWith(pemPair, ts, BODY)), 'ok'],
      ['wrong key', headers(signWith(WRONG, ts, BODY)), 'mismatch'],
      ['all zero signature', headers('0'.repeat(128)), 'mismatch'],
      ['short signature', headers(good.slice(2)), 'malformed'],
      ['base64 signature', headers(Buffer.from(good, 'hex').toString('base64')), 'malformed'],
      ['timestamp not a number', headers(good, 'now'), 'malformed'],
      ['no timestamp', { 'x-signature-ed25519': good }, 'missing'],
      ['no signature', { 'x-signature-timestamp': ts }, 'missing'],
    ];
    for (const [name, h, expected] of cases)
      expect(await outcome(v, request(BODY, h), now), name).toBe(expected);
  });

  it('a key that is not Ed25519 is a config error', () => {
    const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      .publicKey.export({ type: 'spki', format: 'der' })
      .toString('base64');
    expect(() => verifier({ type: 'discord', publicKeys: [p256] })).toThrow(/not an Ed25519 public key/);
    expect(() => verifier({ type: 'discord', publicKeys: ['abc123'] })).toThrow(/not an Ed25519 public key/);
  });

  it("the preset's example and handshake parse", () => {
    const preset = discordVerifier.preset!;
    const text = preset.example.replaceAll('${DISCORD_PUBLIC_KEY}', OLD.publicKey);
    expect(verifierSchema.parse(load(text))).toMatchObject({ type: 'discord', publicKeys: [OLD.publicKey] });
    expect(handshakeSchema.parse(load(preset.handshake!))).toEqual({ type: 'discord' });
  });
});
