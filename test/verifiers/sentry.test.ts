import { createHmac, randomUUID } from 'node:crypto';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { verifierSchema } from '../../src/verifiers/index.ts';
import { sentryVerifier } from '../../src/verifiers/sentry.ts';
import { presetSuite, type Signer } from './preset-suite.ts';
import { outcome, request, verifier } from './support.ts';

// Sentry publishes no signing library and no test vector: sign per its documentation
// (https://docs.sentry.io/integrations/integration-platform/webhooks/#sentry-hook-signature),
// independently of the preset, with node:crypto: hex HMAC-SHA256 of the body, keyed by the
// client secret. Sentry-Hook-Timestamp is sent but not part of what is signed.
const sign = (secret: string, body: string | Buffer) =>
  createHmac('sha256', secret).update(body).digest('hex');

const SECRET = 'sentry-client-secret-old-0';
const NEXT = 'sentry-client-secret-new-1';
const BODY =
  '{"action":"created","installation":{"uuid":"a8e5d37a-696c-4c54-adb5-b3f28d64c7de"},"data":{"issue":{"id":"1170820242","title":"caf\u00e9"}},"actor":{"type":"application","id":"sentry","name":"Sentry"}}';

const signer = (secret: string): Signer => ({
  configValue: secret,
  sign: ({ body, at, id }) => ({
    headers: {
      'Sentry-Hook-Signature': sign(secret, body),
      'Sentry-Hook-Resource': 'issue',
      'Sentry-Hook-Timestamp': String(Math.floor(at / 1000)),
      'Request-ID': id,
    },
  }),
});

presetSuite({
  type: 'sentry',
  config: (values) => ({ secrets: values }),
  signers: [signer(SECRET), signer(NEXT)],
  wrong: signer('sentry-someone-else'),
  body: BODY,
  contentType: 'application/json',
  signatureHeaders: ['Sentry-Hook-Signature'],
});

describe('verify: sentry', () => {
  it('the preset example parses as a verifier; no tolerance is offered (the timestamp is not signed)', () => {
    const example = sentryVerifier.preset!.example.replaceAll(/\$\{[A-Z_]+\}/g, 'value');
    expect(verifierSchema.parse(load(example))).toMatchObject({ type: 'sentry', secrets: ['value'] });
    expect(() => verifierSchema.parse({ type: 'sentry', secrets: ['x'], tolerance: '5m' })).toThrow();
  });

  it('table: rotation, upper case hex, wrong, tampered, missing and malformed headers', async () => {
    const v = verifier({ type: 'sentry', secrets: [SECRET, NEXT] });
    const good = sign(SECRET, BODY);
    const cases: [Record<string, string>, string, string][] = [
      [{ 'sentry-hook-signature': good }, BODY, 'ok'],
      [{ 'sentry-hook-signature': sign(NEXT, BODY) }, BODY, 'ok'],
      [{ 'sentry-hook-signature': good.toUpperCase() }, BODY, 'ok'],
      [{ 'sentry-hook-signature': sign('other', BODY) }, BODY, 'mismatch'],
      [{ 'sentry-hook-signature': good }, BODY.replace('created', 'resolved'), 'mismatch'],
      [{}, BODY, 'missing'],
      [{ 'sentry-hook-signature': `sha256=${good}` }, BODY, 'malformed'],
      [{ 'sentry-hook-signature': good.slice(1) }, BODY, 'malformed'],
      [
        { 'sentry-hook-signature': createHmac('sha256', SECRET).update(BODY).digest('base64') },
        BODY,
        'malformed',
      ],
    ];
    for (const [headers, body, expected] of cases) {
      expect(await outcome(v, request(body, headers)), JSON.stringify(headers)).toBe(expected);
    }
  });

  it('Sentry-Hook-Timestamp is not signed: a changed or stale one does not matter; Request-ID is the message id', async () => {
    const v = verifier({ type: 'sentry', secrets: [SECRET] });
    const id = randomUUID();
    for (const timestamp of ['0', '9999999999', 'garbage']) {
      const headers = { 'sentry-hook-signature': sign(SECRET, BODY), 'sentry-hook-timestamp': timestamp };
      expect(await outcome(v, request(BODY, headers)), timestamp).toBe('ok');
    }
    const result = await v.verify(
      request(BODY, { 'sentry-hook-signature': sign(SECRET, BODY), 'request-id': id }),
      Date.now(),
    );
    expect(result).toMatchObject({ ok: true, messageId: id, signature: sign(SECRET, BODY) });
  });
});
