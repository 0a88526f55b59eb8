import { createHmac, randomBytes } from 'node:crypto';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { verifierSchema } from '../../src/verifiers/index.ts';
import { mailgunVerifier } from '../../src/verifiers/mailgun.ts';
import { presetSuite, type Signed, type Signer } from './preset-suite.ts';
import { outcome, request, verifier } from './support.ts';

// mailgun.js has no webhook verifier and Mailgun publishes no test vector (the values on its page
// are placeholders): sign per its documentation
// (https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks),
// independently of the preset, with node:crypto: hex HMAC-SHA256 of timestamp + token, no separator.
const hmac = (key: string, timestamp: string, token: string) =>
  createHmac('sha256', key)
    .update(timestamp + token)
    .digest('hex');

const KEY = 'mailgun-signing-key-old-0001';
const NEXT = 'mailgun-signing-key-new-0002';
const EVENT = {
  event: 'delivered',
  id: 'CPgfbmQMTCKtHW6uIWtuVe',
  recipient: 'alice@example.com',
  'log-level': 'info',
};
const TYPE = { 'content-type': 'application/json' };
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

const seconds = (at: number) => String(Math.floor(at / 1000));
const token = () => randomBytes(25).toString('hex');
const webhook = (key: string, timestamp: string, tok = token(), event: object = EVENT) =>
  JSON.stringify({
    signature: { timestamp, token: tok, signature: hmac(key, timestamp, tok) },
    'event-data': event,
  });
type Body = { signature: Record<string, unknown>; 'event-data': Record<string, unknown> };
const edit = (body: string | Buffer, change: (parsed: Body) => void) => {
  const parsed = JSON.parse(body.toString()) as Body;
  change(parsed);
  return JSON.stringify(parsed);
};

const signer = (key: string): Signer => ({
  configValue: key,
  sign: ({ at }) => ({ headers: {}, body: Buffer.from(webhook(key, seconds(at))) }),
});

presetSuite({
  type: 'mailgun',
  config: (values) => ({ secrets: values }),
  signers: [signer(KEY), signer(NEXT)],
  wrong: signer('mailgun-someone-else'),
  body: webhook(KEY, seconds(Date.now())),
  contentType: 'application/json',
  signatureHeaders: [],
  toleranceMs: 300_000,
  // What is signed: the token (the event data is not, see below).
  tamper: (body) =>
    Buffer.from(
      edit(body, (p) => {
        p.signature.token = `${p.signature.token}x`;
      }),
    ),
  strip: (signed: Signed) => ({
    ...signed,
    body: Buffer.from(edit(signed.body!, (p) => delete (p as Partial<Body>).signature)),
  }),
  signatureValues: (signed) => [String(JSON.parse(signed.body!.toString()).signature.signature)],
});

describe('verify: mailgun', () => {
  const now = Date.now();
  const t = seconds(now);

  it('the preset example parses as a verifier, with the 5m tolerance', () => {
    const example = mailgunVerifier.preset!.example.replaceAll(/\$\{[A-Z_]+\}/g, 'value');
    expect(verifierSchema.parse(load(example))).toMatchObject({
      type: 'mailgun',
      secrets: ['value'],
      tolerance: 300_000,
    });
  });

  it('JSON table: rotation, parent-signature, token and timestamp signed, missing and malformed', async () => {
    const v = verifier({ type: 'mailgun', secrets: [KEY, NEXT] });
    const tok = token();
    const good = webhook(KEY, t, tok);
    const cases: [string, string, string][] = [
      ['genuine', good, 'ok'],
      ['new key', webhook(NEXT, t, tok), 'ok'],
      ['wrong key', webhook('other', t, tok), 'mismatch'],
      [
        'upper case hex',
        edit(good, (p) => {
          p.signature.signature = String(p.signature.signature).toUpperCase();
        }),
        'ok',
      ],
      [
        'numeric timestamp',
        edit(good, (p) => {
          p.signature.timestamp = Number(t);
        }),
        'ok',
      ],
      [
        'token changed',
        edit(good, (p) => {
          p.signature.token = token();
        }),
        'mismatch',
      ],
      [
        'timestamp changed by 1 s',
        edit(good, (p) => {
          p.signature.timestamp = String(Number(t) - 1);
        }),
        'mismatch',
      ],
      // A subaccount's event: `parent-signature` is over the primary account's key, which is ours.
      [
        'parent-signature',
        edit(good, (p) => {
          p.signature.signature = hmac('subaccount-key', t, tok);
          p.signature['parent-signature'] = hmac(KEY, t, tok);
        }),
        'ok',
      ],
      ['no signature block', JSON.stringify({ 'event-data': EVENT }), 'missing'],
      ['no signature value', edit(good, (p) => delete p.signature.signature), 'missing'],
      ['no token', edit(good, (p) => delete p.signature.token), 'missing'],
      ['no timestamp', edit(good, (p) => delete p.signature.timestamp), 'missing'],
      [
        'timestamp not a number',
        edit(good, (p) => {
          p.signature.timestamp = 'soon';
        }),
        'malformed',
      ],
      [
        'signature not hex',
        edit(good, (p) => {
          p.signature.signature = 'zz';
        }),
        'malformed',
      ],
      ['signature block not an object', JSON.stringify({ signature: 'x' }), 'malformed'],
      ['not JSON', 'nope', 'malformed'],
      ['JSON list', '[]', 'malformed'],
      ['too deep', `{"signature":${'['.repeat(70)}${']'.repeat(70)}}`, 'malformed'],
    ];
    for (const [name, body, expected] of cases) {
      expect(await outcome(v, request(body, TYPE), now), name).toBe(expected);
    }
  });

  it("the event data is not signed (Mailgun's scheme): changing it passes, and the token is the replay key", async () => {
    const v = verifier({ type: 'mailgun', secrets: [KEY] });
    const tok = token();
    const good = webhook(KEY, t, tok);
    const forged = edit(good, (p) => {
      p['event-data'] = { event: 'failed', recipient: 'mallory@example.com' };
    });
    expect(await outcome(v, request(forged, TYPE), now)).toBe('ok');
    expect(await v.verify(request(good, TYPE), now)).toMatchObject({
      ok: true,
      messageId: tok,
      signature: hmac(KEY, t, tok),
    });
  });

  it('form posts: the timestamp, token and signature fields; other fields are not signed', async () => {
    const v = verifier({ type: 'mailgun', secrets: [KEY] });
    const tok = token();
    const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
    const signed = { timestamp: t, token: tok, signature: hmac(KEY, t, tok) };
    const cases: [string, string, string][] = [
      ['genuine', form({ recipient: 'alice@example.com', ...signed }), 'ok'],
      ['unsigned field changed', form({ recipient: 'mallory@example.com', ...signed }), 'ok'],
      ['token changed', form({ ...signed, token: token() }), 'mismatch'],
      ['no signature', form({ timestamp: t, token: tok }), 'missing'],
      ['stale', form({ ...signed, timestamp: String(Number(t) - 301) }), 'expired'],
    ];
    for (const [name, body, expected] of cases) {
      expect(await outcome(v, request(body, FORM), now), name).toBe(expected);
    }
    // A JSON body sent as a form is read as a form, and holds no signature fields.
    expect(await outcome(v, request(webhook(KEY, t), FORM), now)).toBe('missing');
  });
});
