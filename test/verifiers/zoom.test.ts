import { createHmac } from 'node:crypto';
import { load } from 'js-yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { handshakeSchema } from '../../src/handshakes/index.ts';
import { verifierSchema } from '../../src/verifiers/index.ts';
import { zoomVerifier } from '../../src/verifiers/zoom.ts';
import { exampleSecret, type Relay, startRelay, startTarget, type Target } from '../helpers.ts';
import { presetSuite, type Signer } from './preset-suite.ts';
import { failures, outcome, request, verifier } from './support.ts';

// Zoom publishes no npm library that verifies webhooks: signed here per Zoom's document
// (`v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}` under the Secret Token), independently of
// the preset's code.
const TOKEN = 'zoom-secret-token-old-0001';
const NEXT = 'zoom-secret-token-new-0002';
const BODY =
  '{"event":"meeting.started","event_ts":1654503849680,"payload":{"account_id":"AAAAAA","object":{"id":"1234567890","topic":"My Meeting"}}}';

const sign = (token: string, timestamp: string, body: string | Buffer) =>
  `v0=${createHmac('sha256', token).update(`v0:${timestamp}:`).update(body).digest('hex')}`;
const headers = (token: string, at: number, body: string | Buffer = BODY) => {
  const timestamp = String(Math.floor(at / 1000));
  return { 'x-zm-request-timestamp': timestamp, 'x-zm-signature': sign(token, timestamp, body) };
};
const signer = (token: string): Signer => ({
  configValue: token,
  sign: ({ body, at }) => ({ headers: headers(token, at, body) }),
});

presetSuite({
  type: 'zoom',
  config: (values) => ({ secrets: values }),
  signers: [signer(TOKEN), signer(NEXT)],
  wrong: signer('someone-elses-secret-token'),
  body: BODY,
  contentType: 'application/json',
  signatureHeaders: ['x-zm-signature'],
  toleranceMs: 300_000,
});

describe('verify: zoom', () => {
  const now = Date.now();
  const v = verifier({ type: 'zoom', secrets: [TOKEN] });

  it('table: timestamp signed, malformed, missing and stale', async () => {
    const good = headers(TOKEN, now);
    const cases: [string, Record<string, string>, number, string][] = [
      ['genuine', good, now, 'ok'],
      [
        'upper-case hex',
        { ...good, 'x-zm-signature': `v0=${good['x-zm-signature'].slice(3).toUpperCase()}` },
        now,
        'ok',
      ],
      [
        'another timestamp (signed)',
        { ...good, 'x-zm-request-timestamp': String(Math.floor(now / 1000) + 1) },
        now,
        'mismatch',
      ],
      ['wrong token', headers('another-secret-token', now), now, 'mismatch'],
      [
        'v1= prefix',
        { ...good, 'x-zm-signature': `v1=${good['x-zm-signature'].slice(3)}` },
        now,
        'malformed',
      ],
      ['bare hex', { ...good, 'x-zm-signature': good['x-zm-signature'].slice(3) }, now, 'malformed'],
      ['timestamp in ms (13 digits)', { ...good, 'x-zm-request-timestamp': String(now) }, now, 'malformed'],
      ['timestamp not a number', { ...good, 'x-zm-request-timestamp': 'now' }, now, 'malformed'],
      ['no timestamp', { 'x-zm-signature': good['x-zm-signature'] }, now, 'missing'],
      ['no signature', { 'x-zm-request-timestamp': good['x-zm-request-timestamp'] }, now, 'missing'],
      ['stale', good, now + 301_000, 'expired'],
      ['from the future', good, now - 301_000, 'expired'],
    ];
    for (const [name, h, at, expected] of cases)
      expect(await outcome(v, request(BODY, h), at), name).toBe(expected);
  });

  it('the preset example and handshake parse', () => {
    const fill = (text: string) => text.replace(/\$\{(\w+)\}/g, (_, name: string) => exampleSecret(name));
    expect(verifierSchema.parse(load(fill(zoomVerifier.preset!.example)))).toMatchObject({ type: 'zoom' });
    expect(handshakeSchema.parse(load(fill(zoomVerifier.preset!.handshake!)))).toMatchObject({
      type: 'zoom',
    });
  });

  describe('through a relay, with the zoom handshake', () => {
    let target: Target;
    let relay: Relay;
    afterEach(async () => {
      await relay?.close();
      await target?.close();
    });

    it('url_validation is answered only after verify zoom passed; events are forwarded', async () => {
      target = await startTarget();
      relay = await startRelay(
        `
routes:
  - id: zoom
    path: /in/zoom
    handshake:
      type: zoom
      secretToken: "\${ZOOM_SECRET_TOKEN}"
    verify:
      - type: zoom
        secrets: ["\${ZOOM_SECRET_TOKEN}"]
    forward:
      url: ${target.url}/events
`,
        { ZOOM_SECRET_TOKEN: TOKEN },
      );
      const post = (h: Record<string, string>, body: string) =>
        fetch(`${relay.url}/in/zoom`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...h },
          body,
        });
      const validation =
        '{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}';
      const ok = await post(headers(TOKEN, Date.now(), validation), validation);
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({
        plainToken: 'qgg8vlvZRS6UYooatFL8Aw',
        encryptedToken: createHmac('sha256', TOKEN).update('qgg8vlvZRS6UYooatFL8Aw').digest('hex'),
      });
      const forged = await post(headers('not-the-secret-token', Date.now(), validation), validation);
      expect(forged.status).toBe(401);
      expect(await forged.text()).not.toContain('encryptedToken');
      const unsigned = await post({}, validation);
      expect(unsigned.status).toBe(401);

      expect((await post(headers(TOKEN, Date.now()), BODY)).status).toBe(200);
      expect(target.received.map((r) => r.body.toString())).toEqual([BODY]);
      expect(await failures(relay, 'zoom', 'zoom', 'mismatch')).toBe(1);
      expect(await failures(relay, 'zoom', 'zoom', 'missing')).toBe(1);
    });
  });
});
