import { createHmac } from 'node:crypto';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { verifierSchema } from '../../src/verifiers/index.ts';
import { vercelVerifier } from '../../src/verifiers/vercel.ts';
import { presetSuite, type Signer } from './preset-suite.ts';
import { outcome, request, verifier } from './support.ts';

// No installed npm library signs or verifies Vercel webhooks and Vercel's documentation publishes
// no test vector: these signers follow the documented algorithm independently, with node:crypto
// (HMAC-SHA1 of the raw body under the secret, hex).
const sign = (secret: string, body: string | Buffer) => createHmac('sha1', secret).update(body).digest('hex');

const SECRET = 'vercel-webhook-secret-old-01';
const NEXT = 'vercel-webhook-secret-new-02';
const BODY =
  '{"id":"evt_1a2b3c","type":"deployment.succeeded","createdAt":1733500000000,"payload":{"deployment":{"id":"dpl_89abc","url":"app-git-main.vercel.app"},"project":{"id":"prj_42"}}}';

const signer = (secret: string): Signer => ({
  configValue: secret,
  sign: ({ body }) => ({ headers: { 'x-vercel-signature': sign(secret, body) } }),
});

presetSuite({
  type: 'vercel',
  config: (secrets) => ({ secrets }),
  signers: [signer(SECRET), signer(NEXT)],
  wrong: signer('vercel-integration-client-secret'),
  body: BODY,
  contentType: 'application/json',
  signatureHeaders: ['x-vercel-signature'],
});

describe('verify: vercel', () => {
  it('table: rotation, upper-case hex, wrong, tampered, missing and malformed', async () => {
    const v = verifier({ type: 'vercel', secrets: [SECRET, NEXT] });
    const good = sign(SECRET, BODY);
    const cases: [Record<string, string>, string, string][] = [
      [{ 'x-vercel-signature': good }, BODY, 'ok'],
      [{ 'x-vercel-signature': sign(NEXT, BODY) }, BODY, 'ok'],
      [{ 'x-vercel-signature': good.toUpperCase() }, BODY, 'ok'],
      [{ 'x-vercel-signature': sign('someone-else', BODY) }, BODY, 'mismatch'],
      [{ 'x-vercel-signature': good }, BODY.replace('succeeded', 'error'), 'mismatch'],
      [{}, BODY, 'missing'],
      // SHA-256 (hex), base64 and a prefixed form are not Vercel's.
      [{ 'x-vercel-signature': createHmac('sha256', SECRET).update(BODY).digest('hex') }, BODY, 'malformed'],
      [{ 'x-vercel-signature': Buffer.from(good, 'hex').toString('base64') }, BODY, 'malformed'],
      [{ 'x-vercel-signature': `sha1=${good}` }, BODY, 'malformed'],
    ];
    for (const [headers, body, expected] of cases) {
      expect(await outcome(v, request(body, headers)), JSON.stringify(headers)).toBe(expected);
    }
  });

  it('the documented example parses as a verifier config', () => {
    const example = vercelVerifier.preset!.example.replaceAll(/\$\{\w+\}/g, 'value');
    expect(verifierSchema.parse(load(example))).toMatchObject({ type: 'vercel', secrets: ['value'] });
  });
});
