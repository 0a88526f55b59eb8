import { createHmac } from 'node:crypto';
import { load } from 'js-yaml';
import { WebhooksHelper } from 'square';
import { describe, expect, it } from 'vitest';
import { verifierSchema } from '../../src/verifiers/index.ts';
import { squareVerifier } from '../../src/verifiers/square.ts';
import { exampleSecret } from '../helpers.ts';
import { presetSuite, type Signer } from './preset-suite.ts';
import { outcome, request, verifier } from './support.ts';

// The square library only verifies (WebhooksHelper.verifySignature): requests are signed here per
// Square's document (base64 HMAC-SHA256 of notification URL + body), and the library is shown to
// accept what we accept and refuse what we refuse.
const KEY = 'square-signature-key-old-0001';
const NEXT = 'square-signature-key-new-0002';
const PUBLIC = 'https://hooks.example.com';
const PATH = '/in/square?tenant=acme';
const BODY =
  '{"merchant_id":"MLX","type":"payment.updated","event_id":"6a8f5f28-54a1-4eb0-a98a-3111513fd4fc","data":{"type":"payment","id":"KkAkhdMs"}}';

const sign = (key: string, url: string, body: string | Buffer) =>
  createHmac('sha256', key).update(url).update(body).digest('base64');

const signer = (key: string): Signer => ({
  configValue: key,
  sign: ({ body, url }) => ({ headers: { 'x-square-hmacsha256-signature': sign(key, PUBLIC + url, body) } }),
});

presetSuite({
  type: 'square',
  config: (values) => ({ secrets: values, publicUrl: PUBLIC }),
  signers: [signer(KEY), signer(NEXT)],
  wrong: signer('someone-elses-signature-key'),
  body: BODY,
  contentType: 'application/json',
  path: PATH,
  signatureHeaders: ['x-square-hmacsha256-signature'],
});

describe('verify: square', () => {
  const v = verifier({ type: 'square', secrets: [KEY], publicUrl: PUBLIC });
  const url = PUBLIC + PATH;
  const good = sign(KEY, url, BODY);
  const post = (signature: string | undefined, body = BODY, path = PATH) =>
    outcome(
      v,
      request(body, signature === undefined ? {} : { 'x-square-hmacsha256-signature': signature }, path),
    );

  it('WebhooksHelper.verifySignature accepts what we accept and refuses the tampered one', async () => {
    const check = (requestBody: string, signatureHeader: string, notificationUrl = url) =>
      WebhooksHelper.verifySignature({ requestBody, signatureHeader, signatureKey: KEY, notificationUrl });
    expect(await check(BODY, good)).toBe(true);
    expect(await post(good)).toBe('ok');
    expect(await check(`${BODY} `, good)).toBe(false);
    expect(await post(good, `${BODY} `)).toBe('mismatch');
    // The URL is signed: the same body at another path or query does not pass.
    expect(await check(BODY, good, `${PUBLIC}/in/square`)).toBe(false);
    expect(await post(good, BODY, '/in/square')).toBe('mismatch');
  });

  it('table: URL forms, malformed and missing headers', async () => {
    const cases: [string, string | undefined, string, string][] = [
      ['genuine', good, PATH, 'ok'],
      ['signed with :443 written out', sign(KEY, `${PUBLIC}:443${PATH}`, BODY), PATH, 'ok'],
      ['other host', sign(KEY, `https://evil.example${PATH}`, BODY), PATH, 'mismatch'],
      ['http instead of https', sign(KEY, `http://hooks.example.com${PATH}`, BODY), PATH, 'mismatch'],
      ['other query', good, '/in/square?tenant=other', 'mismatch'],
      [
        'hex instead of base64',
        createHmac('sha256', KEY)
          .update(url + BODY)
          .digest('hex'),
        PATH,
        'malformed',
      ],
      ['not base64', 'not a signature!', PATH, 'malformed'],
      ['truncated', good.slice(0, 40), PATH, 'malformed'],
      ['missing', undefined, PATH, 'missing'],
      ['empty', '', PATH, 'missing'],
    ];
    for (const [name, signature, path, expected] of cases)
      expect(await post(signature, BODY, path), name).toBe(expected);
  });

  it('a public URL with a path prefix (a proxy that strips it)', async () => {
    const prefixed = verifier({
      type: 'square',
      secrets: [KEY],
      publicUrl: 'https://example.com/hookrelay/',
    });
    const signature = sign(KEY, `https://example.com/hookrelay${PATH}`, BODY);
    expect(await outcome(prefixed, request(BODY, { 'x-square-hmacsha256-signature': signature }, PATH))).toBe(
      'ok',
    );
    expect(await outcome(v, request(BODY, { 'x-square-hmacsha256-signature': signature }, PATH))).toBe(
      'mismatch',
    );
  });

  it('the preset example parses; publicUrl is required and checked', () => {
    const example = squareVerifier.preset!.example.replace(/\$\{(\w+)\}/g, (_, name: string) =>
      exampleSecret(name),
    );
    expect(verifierSchema.parse(load(example))).toMatchObject({ type: 'square' });
    expect(() => verifier({ type: 'square', secrets: [KEY] })).toThrow(/publicUrl/);
    expect(() => verifier({ type: 'square', secrets: [KEY], publicUrl: 'hooks.example.com' })).toThrow(
      /publicUrl/,
    );
  });
});
