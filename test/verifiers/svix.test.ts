import { load } from 'js-yaml';
import { Webhook } from 'svix';
import { describe, expect, it } from 'vitest';
import { verifierSchema } from '../../src/verifiers/index.ts';
import { svixVerifier } from '../../src/verifiers/svix.ts';
import { presetSuite, type Signer } from './preset-suite.ts';
import { outcome, request, verifier } from './support.ts';

const key = (text: string) => `whsec_${Buffer.from(text).toString('base64')}`;
const OLD = key('svix-old-signing-key-000001');
const NEW = key('svix-new-signing-key-000002');
const WRONG = key('svix-someone-else-key-0003');
const BODY = '{"type":"user.created","data":{"id":"user_29w83sxmDNGwOuEthce5gg56FcC","first_name":"Ada"}}';

/** Signs with the svix library itself. */
const signer = (secret: string): Signer => ({
  configValue: secret,
  sign: ({ body, at, id }) => ({
    headers: {
      'svix-id': id,
      'svix-timestamp': String(Math.floor(at / 1000)),
      'svix-signature': new Webhook(secret).sign(id, new Date(at), body),
    },
  }),
});

presetSuite({
  type: 'svix',
  config: (secrets) => ({ secrets }),
  signers: [signer(OLD), signer(NEW)],
  wrong: signer(WRONG),
  body: BODY,
  contentType: 'application/json',
  signatureHeaders: ['svix-signature'],
  toleranceMs: 300_000,
  signatureValues: (signed) => [signed.headers['svix-signature']!.slice(3)],
});

describe('verify: svix', () => {
  const now = Date.now();
  const headers = (secret: string, id = 'msg_2Lh9KRb0pzN4LePd3XiA4xwOfUq', at = now, body = BODY) => ({
    'svix-id': id,
    'svix-timestamp': String(Math.floor(at / 1000)),
    'svix-signature': new Webhook(secret).sign(id, new Date(at), body),
  });

  it('the library accepts what we accept and refuses what we refuse', async () => {
    const v = verifier({ type: 'svix', secrets: [OLD] });
    const good = headers(OLD);
    expect(new Webhook(OLD).verify(BODY, good)).toEqual(JSON.parse(BODY));
    expect(await outcome(v, request(BODY, good), now)).toBe('ok');
    const tampered = BODY.replace('Ada', 'Eve');
    expect(() => new Webhook(OLD).verify(tampered, good)).toThrow();
    expect(await outcome(v, request(tampered, good), now)).toBe('mismatch');
    // The secret without its prefix is the same key.
    expect(await outcome(verifier({ type: 'svix', secrets: [OLD.slice(6)] }), request(BODY, good), now)).toBe(
      'ok',
    );
  });

  it('table: several signatures, the id is signed, svix- headers only, malformed and missing', async () => {
    const v = verifier({ type: 'svix', secrets: [NEW] });
    const good = headers(NEW);
    const other = headers(WRONG);
    const unbranded = {
      'webhook-id': good['svix-id'],
      'webhook-timestamp': good['svix-timestamp'],
      'webhook-signature': good['svix-signature'],
    };
    const cases: [string, Record<string, string>, string][] = [
      ['genuine', good, 'ok'],
      [
        'rolling: old and new signature',
        { ...good, 'svix-signature': `${other['svix-signature']} ${good['svix-signature']}` },
        'ok',
      ],
      ['a v1a entry is ignored', { ...good, 'svix-signature': `v1a,AAAA ${good['svix-signature']}` }, 'ok'],
      ['another id', { ...good, 'svix-id': 'msg_other' }, 'mismatch'],
      [
        'another timestamp',
        { ...good, 'svix-timestamp': String(Number(good['svix-timestamp']) - 1) },
        'mismatch',
      ],
      ['wrong key', other, 'mismatch'],
      ['no v1 entry', { ...good, 'svix-signature': good['svix-signature'].slice(3) }, 'malformed'],
      ['timestamp not a number', { ...good, 'svix-timestamp': 'soon' }, 'malformed'],
      ['timestamp in ms', { ...good, 'svix-timestamp': String(now) }, 'malformed'],
      ['no timestamp', { 'svix-id': good['svix-id'], 'svix-signature': good['svix-signature'] }, 'missing'],
      [
        'no id',
        { 'svix-timestamp': good['svix-timestamp'], 'svix-signature': good['svix-signature'] },
        'missing',
      ],
      ['webhook- headers are the standard-webhooks preset', unbranded, 'missing'],
    ];
    for (const [name, h, expected] of cases)
      expect(await outcome(v, request(BODY, h), now), name).toBe(expected);
  });

  it('a secret that is not base64 is a config error that does not quote it', () => {
    let message = '';
    try {
      verifier({ type: 'svix', secrets: ['whsec_not base64!'] });
    } catch (error) {
      message = String(error);
    }
    expect(message).toMatch(/not a whsec_<base64> secret/);
    expect(message).not.toContain('not base64!');
  });

  it("the preset's example parses", () => {
    const text = svixVerifier.preset!.example.replaceAll('${SVIX_WEBHOOK_SECRET}', OLD);
    expect(verifierSchema.parse(load(text))).toMatchObject({
      type: 'svix',
      secrets: [OLD],
      tolerance: 300_000,
    });
  });
});
