import { createHmac } from 'node:crypto';
import { load } from 'js-yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { docusignVerifier } from '../../src/verifiers/docusign.ts';
import { verifierSchema } from '../../src/verifiers/index.ts';
import { type Relay, startRelay, startTarget, type Target } from '../helpers.ts';
import { presetSuite, type Signer } from './preset-suite.ts';
import { expectCleanLogs, failures, outcome, request, verifier } from './support.ts';

// DocuSign ships no JavaScript verifier and its documentation publishes no test vector (its
// worked example is a screenshot): these signers follow the documented algorithm
// (ComputeHash in DocuSign's validate guide) independently, with node:crypto: HMAC-SHA256 of the
// whole raw body under the key's UTF-8 text, base64, one X-DocuSign-Signature-N header per key.
const sign = (key: string, body: string | Buffer) => createHmac('sha256', key).update(body).digest('base64');
const headersFor = (keys: string[], body: string | Buffer) =>
  Object.fromEntries(keys.map((key, i) => [`x-docusign-signature-${i + 1}`, sign(key, body)]));

// Made-up keys shaped like DocuSign's (base64 text of 32 bytes), used as text, not decoded.
const KEY = 'uQ0jNWQ6Q2t3kS0wq7o3CQ0bJf5oTgRk0cZbq3Uq5qA=';
const NEXT = 'Yx1mV0wJrO9P2yq8d9hQ3Y8kq6Ff1V2yWm0cT5bN7kE=';
const OTHER = 'ZGlmZmVyZW50IGFjY291bnQncyBrZXksIG5vdCBvdXJz';
const BODY =
  '{"event":"envelope-completed","apiVersion":"v2.1","uri":"/restapi/v2.1/accounts/8f1c/envelopes/93be49ab","retryCount":0,"configurationId":10418,"generatedDateTime":"2026-12-06T21:00:00.0000000Z","data":{"accountId":"8f1c","envelopeId":"93be49ab-afa0-4adf-933c-f752070d71ec"}}\r\n';

/** DocuSign signing with every key active in the account (one header each). */
const signer = (keys: string[], configValue = keys[0]!): Signer => ({
  configValue,
  sign: ({ body }) => ({ headers: { ...headersFor(keys, body), 'x-authorization-digest': 'HMACSHA256' } }),
});

presetSuite({
  type: 'docusign',
  config: (secrets) => ({ secrets }),
  signers: [signer([KEY]), signer([NEXT])],
  wrong: signer([OTHER]),
  body: BODY,
  contentType: 'application/json',
  signatureHeaders: ['x-docusign-signature-1'],
});

describe('verify: docusign', () => {
  it('table: any header matching any secret passes, across positions; wrong, tampered, missing, malformed', async () => {
    const v = verifier({ type: 'docusign', secrets: [NEXT] });
    const good = sign(NEXT, BODY);
    const cases: [Record<string, string>, string, string][] = [
      [headersFor([NEXT], BODY), BODY, 'ok'],
      // The account has several keys: ours is the second, or the third after one of others.
      [headersFor([OTHER, NEXT], BODY), BODY, 'ok'],
      [headersFor([OTHER, KEY, NEXT], BODY), BODY, 'ok'],
      [{ 'x-docusign-signature-100': good }, BODY, 'ok'],
      [{ 'X-DocuSign-Signature-7': good }, BODY, 'ok'],
      [headersFor([OTHER, KEY], BODY), BODY, 'mismatch'],
      [headersFor([NEXT], BODY), BODY.replace('completed', 'voided'), 'mismatch'],
      // Line endings are part of the signed body.
      [headersFor([NEXT], BODY), BODY.trimEnd(), 'mismatch'],
      [{}, BODY, 'missing'],
      [{ 'x-authorization-digest': 'HMACSHA256' }, BODY, 'missing'],
      // Not one of DocuSign's header names: -0, -101, leading zero, no number.
      [{ 'x-docusign-signature-0': good }, BODY, 'missing'],
      [{ 'x-docusign-signature-101': good }, BODY, 'missing'],
      [{ 'x-docusign-signature-01': good }, BODY, 'missing'],
      [{ 'x-docusign-signature': good }, BODY, 'missing'],
      [{ 'x-docusign-signature-1': Buffer.from(good, 'base64').toString('hex') }, BODY, 'malformed'],
      // A malformed header beside a good one does not spoil it.
      [{ 'x-docusign-signature-1': 'garbage', 'x-docusign-signature-2': good }, BODY, 'ok'],
    ];
    for (const [headers, body, expected] of cases) {
      expect(await outcome(v, request(body, headers)), JSON.stringify(headers)).toBe(expected);
    }
  });

  it('rotation across headers: DocuSign signs with old and new key while both are active', async () => {
    const both = headersFor([KEY, NEXT], BODY);
    expect(await outcome(verifier({ type: 'docusign', secrets: [KEY] }), request(BODY, both))).toBe('ok');
    expect(await outcome(verifier({ type: 'docusign', secrets: [NEXT] }), request(BODY, both))).toBe('ok');
    expect(await outcome(verifier({ type: 'docusign', secrets: [KEY, NEXT] }), request(BODY, both))).toBe(
      'ok',
    );
    // The old key removed from DocuSign: only the new header comes, numbered 1.
    const after = headersFor([NEXT], BODY);
    expect(await outcome(verifier({ type: 'docusign', secrets: [KEY] }), request(BODY, after))).toBe(
      'mismatch',
    );
    // The replay window remembers the expected signature that matched.
    const result = await verifier({ type: 'docusign', secrets: [KEY, NEXT] }).verify(
      request(BODY, after),
      Date.now(),
    );
    expect(result).toMatchObject({ ok: true, messageId: undefined, signature: sign(NEXT, BODY) });
  });

  it('a hundred signature headers against a hundred secrets: bounded, and the last pair still found', async () => {
    const keys = Array.from({ length: 100 }, (_, i) => `docusign-key-${i}`);
    const v = verifier({ type: 'docusign', secrets: keys.slice(50).concat('only-ours') });
    const headers = headersFor(keys.slice(0, 99).concat('only-ours'), BODY);
    expect(await outcome(v, request(BODY, headers))).toBe('ok');
    expect(await outcome(v, request(`${BODY} `, headers))).toBe('mismatch');
  });

  it('config: more than 100 secrets is refused without quoting any', () => {
    const secrets = Array.from({ length: 101 }, (_, i) => `secret-value-${i}`);
    const result = verifierSchema.safeParse({ type: 'docusign', secrets });
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain('more than 100');
    expect(JSON.stringify(result.error?.issues)).not.toContain('secret-value-');
    expect(verifierSchema.safeParse({ type: 'docusign', secrets: secrets.slice(1) }).success).toBe(true);
  });

  it('the documented example parses as a verifier config', () => {
    const example = docusignVerifier.preset!.example.replaceAll(/\$\{\w+\}/g, 'value');
    expect(verifierSchema.parse(load(example))).toMatchObject({ type: 'docusign', secrets: ['value'] });
  });

  describe('through a relay', () => {
    let target: Target;
    let relay: Relay;
    afterEach(async () => {
      await relay?.close();
      await target?.close();
    });

    it('a message signed by three account keys passes on its second header; none matching is a 401', async () => {
      target = await startTarget();
      relay = await startRelay(
        `
routes:
  - id: ds
    path: /in/docusign
    verify:
      - type: docusign
        secrets: ["\${DS_KEY}"]
    forward:
      url: ${target.url}/envelopes
`,
        { DS_KEY: NEXT },
      );
      const post = (headers: Record<string, string>) =>
        fetch(`${relay.url}/in/docusign`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: BODY,
        });
      const signed = headersFor([OTHER, NEXT, KEY], BODY);
      expect((await post(signed)).status).toBe(200);
      const wrong = headersFor([OTHER, KEY], BODY);
      expect((await post(wrong)).status).toBe(401);
      expect(target.received.map((r) => r.body.toString())).toEqual([BODY]);
      expect(await failures(relay, 'ds', 'docusign', 'mismatch')).toBe(1);
      expectCleanLogs(relay, [KEY, NEXT, OTHER], [...Object.values(signed), ...Object.values(wrong)]);
    });
  });
});
