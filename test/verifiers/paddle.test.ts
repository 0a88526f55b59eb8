import { createHmac } from 'node:crypto';
import { Paddle } from '@paddle/paddle-node-sdk';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { verifierSchema } from '../../src/verifiers/index.ts';
import { paddleVerifier } from '../../src/verifiers/paddle.ts';
import { exampleSecret } from '../helpers.ts';
import { presetSuite, type Signer } from './preset-suite.ts';
import { outcome, request, verifier } from './support.ts';

// @paddle/paddle-node-sdk verifies only (webhooks.unmarshal / isSignatureValid, no signing
// function): signed here per Paddle's document (hex HMAC-SHA256 of `{ts}:{body}`), and the SDK is
// shown to accept what we accept and refuse what we refuse.
const SECRET = 'pdl_ntfset_01old_secret_key_0001';
const NEXT = 'pdl_ntfset_01new_secret_key_0002';
const BODY =
  '{"event_id":"evt_01h8bzakzx3hm2fmen703n5q45","event_type":"transaction.completed","occurred_at":"2026-08-22T12:00:00.000000Z","notification_id":"ntf_01h8bzam1z32agrxjwhjgqk8w6","data":{"id":"txn_01h8bz","status":"completed"}}';
const paddle = new Paddle('pdl_sdbx_apikey_not_used_01h8bzam1z32agrxjwhjgqk8w6');

const h1 = (secret: string, ts: number, body: string | Buffer) =>
  createHmac('sha256', secret).update(`${ts}:`).update(body).digest('hex');
const header = (secret: string, at: number, body: string | Buffer = BODY) => {
  const ts = Math.floor(at / 1000);
  return `ts=${ts};h1=${h1(secret, ts, body)}`;
};
const signer = (secret: string): Signer => ({
  configValue: secret,
  sign: ({ body, at }) => ({ headers: { 'paddle-signature': header(secret, at, body) } }),
});

presetSuite({
  type: 'paddle',
  // The shared tolerance checks step 30 s around the tolerance: run them at 5m; the 5 s default is tested below.
  config: (values) => ({ secrets: values, tolerance: '5m' }),
  signers: [signer(SECRET), signer(NEXT)],
  wrong: signer('pdl_ntfset_someone_elses_key'),
  body: BODY,
  contentType: 'application/json',
  signatureHeaders: ['paddle-signature'],
  toleranceMs: 300_000,
});

describe('verify: paddle', () => {
  const now = Date.now();
  const v = verifier({ type: 'paddle', secrets: [SECRET] });

  it('the SDK (webhooks.isSignatureValid, unmarshal) accepts what we accept and refuses the rest', async () => {
    const signature = header(SECRET, Date.now());
    expect(await paddle.webhooks.isSignatureValid(BODY, SECRET, signature)).toBe(true);
    expect(await outcome(v, request(BODY, { 'paddle-signature': signature }))).toBe('ok');
    expect(await paddle.webhooks.isSignatureValid(`${BODY} `, SECRET, signature)).toBe(false);
    expect(await outcome(v, request(`${BODY} `, { 'paddle-signature': signature }))).toBe('mismatch');
    await expect(paddle.webhooks.unmarshal(BODY, 'pdl_ntfset_other', signature)).rejects.toThrow(
      /verification failed/,
    );
  });

  it('the default tolerance is 5 s, as the SDK: 10 s old is refused by both', async () => {
    const old = header(SECRET, Date.now() - 10_000);
    expect(await paddle.webhooks.isSignatureValid(BODY, SECRET, old)).toBe(false);
    expect(await outcome(v, request(BODY, { 'paddle-signature': old }))).toBe('expired');
    const ts = Math.floor(now / 1000);
    const at = (ms: number) =>
      outcome(v, request(BODY, { 'paddle-signature': header(SECRET, ts * 1000) }), ms);
    expect(await at(ts * 1000 + 4_000)).toBe('ok');
    expect(await at(ts * 1000 + 6_000)).toBe('expired');
    expect(await at(ts * 1000 - 6_000)).toBe('expired');
  });

  it('table: several h1 (rotation), order, malformed and missing', async () => {
    const ts = Math.floor(now / 1000);
    const ours = h1(SECRET, ts, BODY);
    const other = h1('pdl_ntfset_other', ts, BODY);
    const cases: [string, string | undefined, string][] = [
      ['genuine', `ts=${ts};h1=${ours}`, 'ok'],
      ['h1 first', `h1=${ours};ts=${ts}`, 'ok'],
      ['several h1, ours second', `ts=${ts};h1=${other};h1=${ours}`, 'ok'],
      ['several h1, ours first', `ts=${ts};h1=${ours};h1=${other}`, 'ok'],
      ['upper-case hex', `ts=${ts};h1=${ours.toUpperCase()}`, 'ok'],
      ['unknown keys ignored', `ts=${ts};h2=abc;h1=${ours}`, 'ok'],
      ['only others', `ts=${ts};h1=${other}`, 'mismatch'],
      ['another ts (signed)', `ts=${ts - 1};h1=${ours}`, 'mismatch'],
      ['comma-separated (not Paddle)', `ts=${ts},h1=${ours}`, 'malformed'],
      ['no ts', `h1=${ours}`, 'malformed'],
      ['no h1', `ts=${ts}`, 'malformed'],
      ['h1 not hex', `ts=${ts};h1=${Buffer.from(ours, 'hex').toString('base64')}`, 'malformed'],
      ['ts not a number', `ts=soon;h1=${ours}`, 'malformed'],
      ['missing', undefined, 'missing'],
    ];
    for (const [name, value, expected] of cases) {
      const h: Record<string, string> = value === undefined ? {} : { 'paddle-signature': value };
      expect(await outcome(v, request(BODY, h), now), name).toBe(expected);
    }
  });

  it('the preset example parses with the 5 s default', () => {
    const example = paddleVerifier.preset!.example.replace(/\$\{(\w+)\}/g, (_, name: string) =>
      exampleSecret(name),
    );
    expect(verifierSchema.parse(load(example))).toMatchObject({ type: 'paddle', tolerance: 5_000 });
  });
});
