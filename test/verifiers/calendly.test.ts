import { createHmac } from 'node:crypto';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { calendlyVerifier } from '../../src/verifiers/calendly.ts';
import { verifierSchema } from '../../src/verifiers/index.ts';
import { exampleSecret } from '../helpers.ts';
import { presetSuite, type Signer } from './preset-suite.ts';
import { outcome, request, verifier } from './support.ts';

// Calendly publishes no npm library that verifies webhooks: signed here per Calendly's document
// (hex HMAC-SHA256 of `{t}.{body}` under the signing key), independently of the preset's code.
const KEY = 'calendly-signing-key-old-0001';
const NEXT = 'calendly-signing-key-new-0002';
const BODY =
  '{"created_at":"2026-03-14T19:16:01.000000Z","created_by":"https://api.calendly.com/users/AAAAAAAAAAAAAAAA","event":"invitee.created","payload":{"email":"test@example.com","name":"John Doe","status":"active"}}';

const v1 = (key: string, t: number, body: string | Buffer) =>
  createHmac('sha256', key).update(`${t}.`).update(body).digest('hex');
const header = (key: string, at: number, body: string | Buffer = BODY) => {
  const t = Math.floor(at / 1000);
  return `t=${t},v1=${v1(key, t, body)}`;
};
const signer = (key: string): Signer => ({
  configValue: key,
  sign: ({ body, at }) => ({ headers: { 'calendly-webhook-signature': header(key, at, body) } }),
});

presetSuite({
  type: 'calendly',
  config: (values) => ({ secrets: values }),
  signers: [signer(KEY), signer(NEXT)],
  wrong: signer('someone-elses-signing-key'),
  body: BODY,
  contentType: 'application/json',
  signatureHeaders: ['calendly-webhook-signature'],
  toleranceMs: 180_000,
});

describe('verify: calendly', () => {
  const now = Date.now();
  const t = Math.floor(now / 1000);
  const v = verifier({ type: 'calendly', secrets: [KEY] });

  it('table: order, spaces, several v1, malformed, missing and the 3-minute tolerance', async () => {
    const ours = v1(KEY, t, BODY);
    const other = v1('another-signing-key', t, BODY);
    const cases: [string, string | undefined, number, string][] = [
      ['genuine', `t=${t},v1=${ours}`, now, 'ok'],
      ['v1 first, spaces', `v1=${ours}, t=${t}`, now, 'ok'],
      ['several v1, ours second', `t=${t},v1=${other},v1=${ours}`, now, 'ok'],
      ['upper-case hex', `t=${t},v1=${ours.toUpperCase()}`, now, 'ok'],
      ['only others', `t=${t},v1=${other}`, now, 'mismatch'],
      ['another t (signed)', `t=${t + 1},v1=${ours}`, now, 'mismatch'],
      ['semicolons (not Calendly)', `t=${t};v1=${ours}`, now, 'malformed'],
      ['v0 only', `t=${t},v0=${ours}`, now, 'malformed'],
      ['no t', `v1=${ours}`, now, 'malformed'],
      ['t not a number', `t=later,v1=${ours}`, now, 'malformed'],
      ['missing', undefined, now, 'missing'],
      ['2.5 minutes old', `t=${t},v1=${ours}`, t * 1000 + 150_000, 'ok'],
      ['3.5 minutes old', `t=${t},v1=${ours}`, t * 1000 + 210_000, 'expired'],
      ['3.5 minutes ahead', `t=${t},v1=${ours}`, t * 1000 - 210_000, 'expired'],
    ];
    for (const [name, value, at, expected] of cases) {
      const h: Record<string, string> = value === undefined ? {} : { 'calendly-webhook-signature': value };
      expect(await outcome(v, request(BODY, h), at), name).toBe(expected);
    }
  });

  it('the preset example parses with the 3-minute default', () => {
    const example = calendlyVerifier.preset!.example.replace(/\$\{(\w+)\}/g, (_, name: string) =>
      exampleSecret(name),
    );
    expect(verifierSchema.parse(load(example))).toMatchObject({ type: 'calendly', tolerance: 180_000 });
  });
});
