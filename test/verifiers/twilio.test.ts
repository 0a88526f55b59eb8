import twilio from 'twilio';
import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, startRelay, startTarget, type Target } from '../helpers.ts';
import { presetSuite, type Signer } from './preset-suite.ts';
import { expectCleanLogs, failures, outcome, request, verifier } from './support.ts';

const TOKEN = 'twilio-primary-auth-token-01';
const SECONDARY = 'twilio-secondary-auth-token-2';
const PUBLIC = 'https://hooks.example.com';
const PATH = '/in/twilio/voice?tenant=acme';
const FORM =
  'CallSid=CA123&AccountSid=AC456&From=%2B14155550123&To=%2B14155550100&CallStatus=completed&Digits=1&Digits=0';
const FORM_PARAMS = {
  CallSid: 'CA123',
  AccountSid: 'AC456',
  From: '+14155550123',
  To: '+14155550100',
  CallStatus: 'completed',
  Digits: ['1', '0'],
};
const JSON_BODY = '{"CallSid":"CA123","status":"completed"}';
const FORM_TYPE = { 'content-type': 'application/x-www-form-urlencoded' };

const sign = (token: string, url: string, params: Record<string, string | string[]>) =>
  twilio.getExpectedTwilioSignature(token, url, params);

describe('verify: twilio', () => {
  it('form callbacks: the signature twilio computes over the public URL and sorted parameters passes', async () => {
    const v = verifier({ type: 'twilio', secrets: [TOKEN, SECONDARY], publicUrl: PUBLIC });
    const url = `${PUBLIC}${PATH}`;
    const good = sign(TOKEN, url, FORM_PARAMS);
    expect(twilio.validateRequest(TOKEN, good, url, FORM_PARAMS)).toBe(true);
    const cases: [string, Record<string, string>, string, string][] = [
      ['primary token', { 'x-twilio-signature': good }, FORM, 'ok'],
      ['secondary token (rotation)', { 'x-twilio-signature': sign(SECONDARY, url, FORM_PARAMS) }, FORM, 'ok'],
      // Twilio may sign the URL with the default port written out; twilio.validateRequest accepts both.
      [
        'signed with :443',
        { 'x-twilio-signature': sign(TOKEN, `${PUBLIC}:443${PATH}`, FORM_PARAMS) },
        FORM,
        'ok',
      ],
      [
        'wrong token',
        { 'x-twilio-signature': sign('another-account-token', url, FORM_PARAMS) },
        FORM,
        'mismatch',
      ],
      ['tampered parameter', { 'x-twilio-signature': good }, FORM.replace('completed', 'failed'), 'mismatch'],
      ['added parameter', { 'x-twilio-signature': good }, `${FORM}&Extra=1`, 'mismatch'],
      [
        'other host',
        { 'x-twilio-signature': sign(TOKEN, `https://evil.example${PATH}`, FORM_PARAMS) },
        FORM,
        'mismatch',
      ],
      ['missing', {}, FORM, 'missing'],
      ['malformed', { 'x-twilio-signature': 'not base64!' }, FORM, 'malformed'],
    ];
    for (const [name, headers, body, expected] of cases) {
      expect(await outcome(v, request(body, { ...FORM_TYPE, ...headers }, PATH)), name).toBe(expected);
    }
    // The same form sent as something else is not what Twilio signed.
    expect(
      await outcome(v, request(FORM, { 'x-twilio-signature': good, 'content-type': 'text/plain' }, PATH)),
    ).toBe('malformed');
  });

  it('JSON bodies: the URL is signed and carries bodySHA256, which must match the body', async () => {
    const v = verifier({ type: 'twilio', secrets: [TOKEN], publicUrl: PUBLIC });
    const path = `/in/twilio/events?bodySHA256=${twilio.getExpectedBodyHash(JSON_BODY)}`;
    const signature = sign(TOKEN, `${PUBLIC}${path}`, {});
    expect(twilio.validateRequestWithBody(TOKEN, signature, `${PUBLIC}${path}`, JSON_BODY)).toBe(true);
    const json = { 'content-type': 'application/json', 'x-twilio-signature': signature };
    expect(await outcome(v, request(JSON_BODY, json, path))).toBe('ok');
    expect(twilio.validateRequestWithBody(TOKEN, signature, `${PUBLIC}${path}`, `${JSON_BODY} `)).toBe(false);
    expect(await outcome(v, request(`${JSON_BODY} `, json, path))).toBe('mismatch');
    // Without bodySHA256 a JSON body would not be covered by the signature at all.
    const bare = sign(TOKEN, `${PUBLIC}/in/twilio/events`, {});
    const unsigned = { 'content-type': 'application/json', 'x-twilio-signature': bare };
    expect(await outcome(v, request(JSON_BODY, unsigned, '/in/twilio/events'))).toBe('malformed');
  });

  it('GET callbacks and a public URL with a path prefix (a proxy that strips it)', async () => {
    const v = verifier({
      type: 'twilio',
      secrets: [TOKEN],
      publicUrl: 'https://example.com:8443/hookrelay/',
    });
    const path = '/in/twilio/status?CallSid=CA1&CallStatus=ringing';
    const signature = sign(TOKEN, `https://example.com:8443/hookrelay${path}`, {});
    expect(await outcome(v, request('', { 'x-twilio-signature': signature }, path, 'GET'))).toBe('ok');
    const other = sign(TOKEN, `https://example.com:8443/hookrelay${path.replace('ringing', 'busy')}`, {});
    expect(await outcome(v, request('', { 'x-twilio-signature': other }, path, 'GET'))).toBe('mismatch');
  });

  it('publicUrl must be a plain http(s) base URL', () => {
    for (const publicUrl of [
      'hooks.example.com',
      'ftp://hooks.example.com',
      'https://hooks.example.com/?x=1',
    ]) {
      expect(() => verifier({ type: 'twilio', secrets: [TOKEN], publicUrl }), publicUrl).toThrow(/publicUrl/);
    }
  });

  describe('through a relay', () => {
    let target: Target;
    let relay: Relay;
    afterEach(async () => {
      await relay?.close();
      await target?.close();
    });

    it('behind a proxy: verified against publicUrl, forwarded; a forged one is refused and not forwarded', async () => {
      target = await startTarget();
      relay = await startRelay(
        `
routes:
  - id: voice
    path: /in/twilio/voice
    verify:
      - type: twilio
        publicUrl: https://hooks.example.com
        secrets: ["\${TWILIO_AUTH_TOKEN}"]
    forward:
      url: ${target.url}/calls
`,
        { TWILIO_AUTH_TOKEN: TOKEN },
      );
      const good = sign(TOKEN, `${PUBLIC}${PATH}`, FORM_PARAMS);
      // What the relay sees is http://127.0.0.1:<port>/…: only publicUrl makes the signature match.
      const post = (signature: string, body = FORM) =>
        fetch(`${relay.url}${PATH}`, {
          method: 'POST',
          headers: { ...FORM_TYPE, 'x-twilio-signature': signature },
          body,
        });
      expect((await post(good)).status).toBe(200);
      const forged = sign(TOKEN, `${relay.url}${PATH}`, FORM_PARAMS);
      expect((await post(forged)).status).toBe(401);
      expect((await post(good, `${FORM}&Digits=9`)).status).toBe(401);
      expect(target.received.map((r) => r.body.toString())).toEqual([FORM]);
      expect(await failures(relay, 'voice', 'twilio', 'mismatch')).toBe(2);
      expectCleanLogs(relay, [TOKEN], [good, forged]);
    });
  });
});

const twilioSigner = (token: string): Signer => ({
  configValue: token,
  sign: ({ url, id }) => ({
    headers: {
      'x-twilio-signature': sign(token, `${PUBLIC}${url}`, FORM_PARAMS),
      'i-twilio-idempotency-token': id,
    },
  }),
});
presetSuite({
  type: 'twilio',
  config: (secrets) => ({ secrets, publicUrl: PUBLIC }),
  signers: [twilioSigner(TOKEN), twilioSigner(SECONDARY)],
  wrong: twilioSigner('twilio-someone-else-token-3'),
  body: FORM,
  contentType: 'application/x-www-form-urlencoded',
  path: PATH,
  signatureHeaders: ['x-twilio-signature'],
  tamper: (body) => Buffer.from(body.toString().replace('Digits=1', 'Digits=9')),
});
