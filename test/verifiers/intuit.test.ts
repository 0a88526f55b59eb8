import { createHmac } from 'node:crypto';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { verifierSchema } from '../../src/verifiers/index.ts';
import { intuitVerifier } from '../../src/verifiers/intuit.ts';
import { presetSuite, type Signer } from './preset-suite.ts';
import { outcome, request, verifier } from './support.ts';

// Intuit's Node SDKs ship no webhook verifier and its documentation publishes no test vector:
// these signers follow the documented algorithm independently, with node:crypto (HMAC-SHA256 of
// the raw body under the verifier token, base64).
const sign = (token: string, body: string | Buffer) =>
  createHmac('sha256', token).update(body).digest('base64');

const TOKEN = '3f6a1c2e-9d1b-4f0e-8a77-5b2c1d0e9f11';
const NEXT = 'b7e4d2a9-0c6f-4e3b-9a1d-2f8e7c6b5a40';
// The sample payload of Intuit's documentation.
const BODY =
  '{"eventNotifications":[{"realmId":"1185883450","dataChangeEvent":{"entities":[{"name":"Customer","id":"1","operation":"Create","lastUpdated":"2015-10-05T14:42:19-0700"},{"name":"Vendor","id":"1","operation":"Create","lastUpdated":"2015-10-05T14:42:19-0700"}]}}]}';

const signer = (token: string): Signer => ({
  configValue: token,
  sign: ({ body }) => ({ headers: { 'intuit-signature': sign(token, body) } }),
});

presetSuite({
  type: 'intuit',
  config: (secrets) => ({ secrets }),
  signers: [signer(TOKEN), signer(NEXT)],
  wrong: signer('00000000-aaaa-bbbb-cccc-000000000000'),
  body: BODY,
  contentType: 'application/json',
  signatureHeaders: ['intuit-signature'],
});

describe('verify: intuit', () => {
  it('table: rotation, the documented hex comparison agrees, wrong, tampered, missing and malformed', async () => {
    const v = verifier({ type: 'intuit', secrets: [TOKEN, NEXT] });
    const good = sign(TOKEN, BODY);
    // Intuit's documented check: the HMAC in hex equals the header decoded from base64 to hex.
    expect(Buffer.from(good, 'base64').toString('hex')).toBe(
      createHmac('sha256', TOKEN).update(BODY).digest('hex'),
    );
    const cases: [Record<string, string>, string, string][] = [
      [{ 'intuit-signature': good }, BODY, 'ok'],
      [{ 'intuit-signature': sign(NEXT, BODY) }, BODY, 'ok'],
      [{ 'Intuit-Signature': good }, BODY, 'ok'],
      [{ 'intuit-signature': sign('the-oauth-client-secret', BODY) }, BODY, 'mismatch'],
      [{ 'intuit-signature': good }, BODY.replace('"Create"', '"Delete"'), 'mismatch'],
      [{}, BODY, 'missing'],
      [{ 'intuit-signature': Buffer.from(good, 'base64').toString('hex') }, BODY, 'malformed'],
      [{ 'intuit-signature': good.slice(0, -1) }, BODY, 'malformed'],
    ];
    for (const [headers, body, expected] of cases) {
      expect(await outcome(v, request(body, headers)), JSON.stringify(headers)).toBe(expected);
    }
  });

  it('the documented example parses as a verifier config', () => {
    const example = intuitVerifier.preset!.example.replaceAll(/\$\{\w+\}/g, 'value');
    expect(verifierSchema.parse(load(example))).toMatchObject({ type: 'intuit', secrets: ['value'] });
  });
});
