import { createHmac } from 'node:crypto';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { verifierSchema } from '../../src/verifiers/index.ts';
import { intercomVerifier } from '../../src/verifiers/intercom.ts';
import { presetSuite, type Signer } from './preset-suite.ts';
import { outcome, request, verifier } from './support.ts';

// Intercom's client libraries do not verify webhooks and Intercom publishes no test vector: sign
// per its documentation (signed notifications), independently of the preset, with node:crypto:
// `sha1=` + hex HMAC-SHA1 of the raw body, keyed by the app's client secret.
const sign = (secret: string, body: string | Buffer) =>
  `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`;

const SECRET = 'intercom-client-secret-old';
const NEXT = 'intercom-client-secret-new';
const BODY =
  '{"type":"notification_event","app_id":"abc123","data":{"type":"notification_event_data","item":{"type":"conversation","id":"42"}},"id":"notif_1","topic":"conversation.user.created","created_at":1700000000}';

const signer = (secret: string): Signer => ({
  configValue: secret,
  sign: ({ body }) => ({ headers: { 'X-Hub-Signature': sign(secret, body) } }),
});

presetSuite({
  type: 'intercom',
  config: (values) => ({ secrets: values }),
  signers: [signer(SECRET), signer(NEXT)],
  wrong: signer('intercom-someone-else'),
  body: BODY,
  contentType: 'application/json',
  signatureHeaders: ['X-Hub-Signature'],
});

describe('verify: intercom', () => {
  it('the preset example parses as a verifier', () => {
    const example = intercomVerifier.preset!.example.replaceAll(/\$\{[A-Z_]+\}/g, 'value');
    expect(verifierSchema.parse(load(example))).toMatchObject({ type: 'intercom', secrets: ['value'] });
  });

  it('table: rotation, upper case hex, wrong, tampered, missing and malformed headers', async () => {
    const v = verifier({ type: 'intercom', secrets: [SECRET, NEXT] });
    const good = sign(SECRET, BODY);
    const cases: [Record<string, string>, string, string][] = [
      [{ 'x-hub-signature': good }, BODY, 'ok'],
      [{ 'x-hub-signature': sign(NEXT, BODY) }, BODY, 'ok'],
      [{ 'x-hub-signature': `sha1=${good.slice(5).toUpperCase()}` }, BODY, 'ok'],
      [{ 'x-hub-signature': sign('other', BODY) }, BODY, 'mismatch'],
      [{ 'x-hub-signature': good }, BODY.replace('"42"', '"43"'), 'mismatch'],
      [{}, BODY, 'missing'],
      // GitHub's SHA-256 header is not Intercom's.
      [{ 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` }, BODY, 'missing'],
      [{ 'x-hub-signature': good.slice(5) }, BODY, 'malformed'],
      [
        { 'x-hub-signature': `sha256=${createHmac('sha256', SECRET).update(BODY).digest('hex')}` },
        BODY,
        'malformed',
      ],
      [{ 'x-hub-signature': `${good}00` }, BODY, 'malformed'],
      [
        { 'x-hub-signature': `sha1=${createHmac('sha1', SECRET).update(BODY).digest('base64')}` },
        BODY,
        'malformed',
      ],
    ];
    for (const [headers, body, expected] of cases) {
      expect(await outcome(v, request(body, headers)), JSON.stringify(headers)).toBe(expected);
    }
  });
});
