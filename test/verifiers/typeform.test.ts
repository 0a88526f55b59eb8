import { createHmac } from 'node:crypto';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { verifierSchema } from '../../src/verifiers/index.ts';
import { typeformVerifier } from '../../src/verifiers/typeform.ts';
import { presetSuite, type Signer } from './preset-suite.ts';
import { outcome, request, verifier } from './support.ts';

// Typeform publishes no signing library and no test vector: sign per its documentation
// (https://www.typeform.com/developers/webhooks/secure-your-webhooks/), independently of the
// preset, with node:crypto: `sha256=` + base64 HMAC-SHA256 of the raw body.
const sign = (secret: string, body: string | Buffer) =>
  `sha256=${createHmac('sha256', secret).update(body).digest('base64')}`;

const SECRET = 'typeform-old-secret-0001';
const NEXT = 'typeform-new-secret-0002';
const BODY =
  '{"event_id":"01HXYZ","event_type":"form_response","form_response":{"form_id":"abc123","answers":[{"type":"text","text":"caf\u00e9"}]}}';

const signer = (secret: string): Signer => ({
  configValue: secret,
  sign: ({ body }) => ({ headers: { 'Typeform-Signature': sign(secret, body) } }),
});

presetSuite({
  type: 'typeform',
  config: (values) => ({ secrets: values }),
  signers: [signer(SECRET), signer(NEXT)],
  wrong: signer('typeform-someone-else'),
  body: BODY,
  contentType: 'application/json',
  signatureHeaders: ['Typeform-Signature'],
});

describe('verify: typeform', () => {
  it('the preset example parses as a verifier', () => {
    const example = typeformVerifier.preset!.example.replaceAll(/\$\{[A-Z_]+\}/g, 'value');
    expect(verifierSchema.parse(load(example))).toMatchObject({ type: 'typeform', secrets: ['value'] });
  });

  it('table: rotation, wrong, tampered, missing and malformed headers', async () => {
    const v = verifier({ type: 'typeform', secrets: [SECRET, NEXT] });
    const good = sign(SECRET, BODY);
    const cases: [Record<string, string>, string, string][] = [
      [{ 'typeform-signature': good }, BODY, 'ok'],
      [{ 'typeform-signature': sign(NEXT, BODY) }, BODY, 'ok'],
      [{ 'typeform-signature': sign('other', BODY) }, BODY, 'mismatch'],
      [{ 'typeform-signature': good }, BODY.replace('caf\u00e9', 'cafe'), 'mismatch'],
      [{}, BODY, 'missing'],
      // The bare base64, a hex digest, another algorithm, base64url: not Typeform's form.
      [{ 'typeform-signature': good.slice(7) }, BODY, 'malformed'],
      [
        { 'typeform-signature': `sha256=${createHmac('sha256', SECRET).update(BODY).digest('hex')}` },
        BODY,
        'malformed',
      ],
      [{ 'typeform-signature': good.replace('sha256=', 'sha1=') }, BODY, 'malformed'],
      [{ 'typeform-signature': `${good},${good}` }, BODY, 'malformed'],
    ];
    for (const [headers, body, expected] of cases) {
      expect(await outcome(v, request(body, headers)), JSON.stringify(headers)).toBe(expected);
    }
  });
});
