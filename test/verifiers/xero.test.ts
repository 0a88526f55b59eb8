import { createHmac } from 'node:crypto';
import { load } from 'js-yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { verifierSchema } from '../../src/verifiers/index.ts';
import { xeroVerifier } from '../../src/verifiers/xero.ts';
import { type Relay, startRelay, startTarget, type Target } from '../helpers.ts';
import { presetSuite, type Signer } from './preset-suite.ts';
import { failures, outcome, request, verifier } from './support.ts';

// Xero's SDKs ship no webhook verifier and its documentation publishes no test vector: these
// signers follow Xero's documented algorithm independently, with node:crypto (HMAC-SHA256 of the
// raw body under the webhook key as it is, base64).
const sign = (key: string, body: string | Buffer) => createHmac('sha256', key).update(body).digest('base64');

// Made-up keys shaped like Xero's (base64 text), which are used as text, not decoded.
const KEY = 'fbztPxUtcaRdruCCoqPgZHQDVaA58UGBs8kxFUZSCeJ4X0XF2bWN9vHdd7RQnjIqw3jxAn9FL7yWs/dvYJC/xHHx';
const NEXT = 'Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5d2FsZG9mcmVkcGx1Z2h4eXp6eWZvbzEyMzQ1Njc4OTA=';
const BODY =
  '{"events":[{"resourceUrl":"https://api.xero.com/api.xro/2.0/Contacts/717f2bfc-c6d4-41fd-b238-3f2f0c0cf777","resourceId":"717f2bfc-c6d4-41fd-b238-3f2f0c0cf777","eventDateUtc":"2017-06-21T01:15:39.902","eventType":"Update","eventCategory":"CONTACT","tenantId":"c2cc9b6e-9458-4c7d-93cc-f02b81b0594f","tenantType":"ORGANISATION"}],"lastEventSequence":1,"firstEventSequence":1,"entropy":"CRVHQVGXWWNPJXKOGFGZ"}';
/** Xero's documented Intent to Receive payload (its entropy differs from one request to the next). */
const itr = (entropy: string) =>
  `{"events":[],"lastEventSequence":0,"firstEventSequence":0,"entropy":"${entropy}"}`;

const signer = (key: string): Signer => ({
  configValue: key,
  sign: ({ body }) => ({ headers: { 'x-xero-signature': sign(key, body) } }),
});

presetSuite({
  type: 'xero',
  config: (secrets) => ({ secrets }),
  signers: [signer(KEY), signer(NEXT)],
  wrong: signer('c29tZW9uZSBlbHNlJ3Mgd2ViaG9vayBrZXksIG5vdCBvdXJz'),
  body: BODY,
  contentType: 'application/json; charset=utf-8',
  signatureHeaders: ['x-xero-signature'],
});

describe('verify: xero', () => {
  it('table: rotation, key used as text, wrong, tampered, missing and malformed', async () => {
    const v = verifier({ type: 'xero', secrets: [KEY, NEXT] });
    const decoded = createHmac('sha256', Buffer.from(KEY, 'base64')).update(BODY).digest('base64');
    const cases: [Record<string, string>, string, string][] = [
      [{ 'x-xero-signature': sign(KEY, BODY) }, BODY, 'ok'],
      [{ 'x-xero-signature': sign(NEXT, BODY) }, BODY, 'ok'],
      [{ 'x-xero-signature': decoded }, BODY, 'mismatch'],
      [{ 'x-xero-signature': sign(KEY, BODY) }, BODY.replace('Update', 'Create'), 'mismatch'],
      [{}, BODY, 'missing'],
      [{ 'x-xero-signature': Buffer.from(sign(KEY, BODY), 'base64').toString('hex') }, BODY, 'malformed'],
      [{ 'x-xero-signature': `sha256=${sign(KEY, BODY)}` }, BODY, 'malformed'],
    ];
    for (const [headers, body, expected] of cases) {
      expect(await outcome(v, request(body, headers)), JSON.stringify(headers)).toBe(expected);
    }
  });

  it('the documented example parses as a verifier config', () => {
    const example = xeroVerifier.preset!.example.replaceAll(/\$\{\w+\}/g, 'value');
    expect(verifierSchema.parse(load(example))).toMatchObject({ type: 'xero', secrets: ['value'] });
  });

  describe('through a relay', () => {
    let target: Target;
    let relay: Relay;
    afterEach(async () => {
      await relay?.close();
      await target?.close();
    });

    it('Intent to Receive: 200 for every correctly signed payload, 401 for every badly signed one', async () => {
      target = await startTarget();
      relay = await startRelay(
        `
routes:
  - id: xero
    path: /in/xero
    verify:
      - type: xero
        secrets: ["\${XERO_WEBHOOK_KEY}"]
        replayWindow: 10m
    forward:
      url: ${target.url}/xero
`,
        { XERO_WEBHOOK_KEY: KEY },
      );
      const post = (body: string, signature: string) =>
        fetch(`${relay.url}/in/xero`, {
          method: 'POST',
          headers: { 'content-type': 'application/json; charset=utf-8', 'x-xero-signature': signature },
          body,
        });
      const statuses: number[] = [];
      for (const [i, entropy] of [
        'S0m3r4Nd0mt3xt',
        'QWERTYUIOPASDFGH',
        'ZXCVBNMLKJHGFDSA',
        'POIUYTREWQLKJHGF',
      ].entries()) {
        const body = itr(entropy);
        // Xero mixes correctly signed requests with incorrectly signed ones.
        const signature = i % 2 === 0 ? sign(KEY, body) : sign(KEY, `${body}x`);
        statuses.push((await post(body, signature)).status);
      }
      expect(statuses).toEqual([200, 401, 200, 401]);
      expect(target.received.map((r) => r.body.toString())).toEqual([
        itr('S0m3r4Nd0mt3xt'),
        itr('ZXCVBNMLKJHGFDSA'),
      ]);
      expect(await failures(relay, 'xero', 'xero', 'mismatch')).toBe(2);
    });
  });
});
