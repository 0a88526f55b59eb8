import { createHmac, randomUUID } from 'node:crypto';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { bitbucketVerifier } from '../../src/verifiers/bitbucket.ts';
import { verifierSchema } from '../../src/verifiers/index.ts';
import { presetSuite, type Signer } from './preset-suite.ts';
import { outcome, request, verifier } from './support.ts';

// Bitbucket publishes no signing library and no test vector: sign per its documentation
// (https://support.atlassian.com/bitbucket-cloud/docs/manage-webhooks/), independently of the
// preset, with node:crypto: `sha256=` + hex HMAC-SHA256 of the raw body.
const sign = (secret: string, body: string | Buffer) =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

const SECRET = 'bitbucket-old-secret-01';
const NEXT = 'bitbucket-new-secret-02';
const HOOK = '{5a8e7a2c-0000-4000-8000-000000000001}';
const BODY =
  '{"push":{"changes":[{"new":{"name":"main","type":"branch"}}]},"repository":{"full_name":"acme/caf\u00e9"},"actor":{"display_name":"A"}}';

const signer = (secret: string): Signer => ({
  configValue: secret,
  sign: ({ body, id }) => ({
    headers: {
      'X-Hub-Signature': sign(secret, body),
      'X-Event-Key': 'repo:push',
      'X-Hook-UUID': HOOK,
      'X-Request-UUID': id,
      'X-Attempt-Number': '1',
    },
  }),
});

presetSuite({
  type: 'bitbucket',
  config: (values) => ({ secrets: values }),
  signers: [signer(SECRET), signer(NEXT)],
  wrong: signer('bitbucket-someone-else'),
  body: BODY,
  contentType: 'application/json',
  signatureHeaders: ['X-Hub-Signature'],
});

describe('verify: bitbucket', () => {
  it('the preset example parses as a verifier', () => {
    const example = bitbucketVerifier.preset!.example.replaceAll(/\$\{[A-Z_]+\}/g, 'value');
    expect(verifierSchema.parse(load(example))).toMatchObject({ type: 'bitbucket', secrets: ['value'] });
  });

  it('table: rotation, upper case hex, wrong, tampered, missing and malformed headers', async () => {
    const v = verifier({ type: 'bitbucket', secrets: [SECRET, NEXT] });
    const good = sign(SECRET, BODY);
    const cases: [Record<string, string>, string, string][] = [
      [{ 'x-hub-signature': good }, BODY, 'ok'],
      [{ 'x-hub-signature': sign(NEXT, BODY) }, BODY, 'ok'],
      [{ 'x-hub-signature': `sha256=${good.slice(7).toUpperCase()}` }, BODY, 'ok'],
      [{ 'x-hub-signature': sign('other', BODY) }, BODY, 'mismatch'],
      [{ 'x-hub-signature': good }, `${BODY}\n`, 'mismatch'],
      [{}, BODY, 'missing'],
      // GitHub's header name is not Bitbucket's.
      [{ 'x-hub-signature-256': good }, BODY, 'missing'],
      [{ 'x-hub-signature': good.slice(7) }, BODY, 'malformed'],
      [
        { 'x-hub-signature': `sha1=${createHmac('sha1', SECRET).update(BODY).digest('hex')}` },
        BODY,
        'malformed',
      ],
      [{ 'x-hub-signature': `${good}00` }, BODY, 'malformed'],
    ];
    for (const [headers, body, expected] of cases) {
      expect(await outcome(v, request(body, headers)), JSON.stringify(headers)).toBe(expected);
    }
  });

  it('the replay window remembers X-Request-UUID (per delivery), not X-Hook-UUID (per webhook)', async () => {
    const v = verifier({ type: 'bitbucket', secrets: [SECRET] });
    const id = randomUUID();
    const result = await v.verify(
      request(BODY, { 'x-hub-signature': sign(SECRET, BODY), 'x-hook-uuid': HOOK, 'x-request-uuid': id }),
      Date.now(),
    );
    expect(result).toMatchObject({ ok: true, messageId: id, signature: sign(SECRET, BODY).slice(7) });
  });
});
