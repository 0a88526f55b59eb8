import { load } from 'js-yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { handshakeSchema } from '../../src/handshakes/index.ts';
import { verifierSchema } from '../../src/verifiers/index.ts';
import { oktaVerifier } from '../../src/verifiers/okta.ts';
import { type Relay, startRelay, startTarget, type Target } from '../helpers.ts';
import { presetSuite, type Signer } from './preset-suite.ts';
import { failures, outcome, request, verifier } from './support.ts';

// Okta has no library for the receiving side: per its documentation the hook's Authentication
// secret is sent, as is, as the value of the Authentication field header.
const OLD = 'okta-hook-secret-old-5f2c9a1e7b3d';
const NEW = 'okta-hook-secret-new-8e4b0d6c2a9f';
const WRONG = 'okta-hook-secret-guess-000000000';

// https://developer.okta.com/docs/concepts/event-hooks/#sample-event-delivery-payload (shape)
const EVENT =
  '{"eventType":"com.okta.event_hook","eventTypeVersion":"1.0","cloudEventsVersion":"0.1","source":"https://example.okta.com/api/v1/eventHooks/whoql0HfiLGPWc8Jx0g3","eventId":"b5a188b9-5ece-4636-b041-482ffda96311","data":{"events":[{"uuid":"5e1c3f4e-3d3b-11ed-9a3e-2f2b8e3a7c1d","eventType":"user.session.start"}]},"eventTime":"2026-12-06T21:30:00.000Z","contentType":"application/json"}';

// A shared token covers no body: the shared suite runs with `coversBody: false` (a changed body
// passes, as the docs say) and without a replay window (see the preset's notes).
const oktaSigner = (secret: string): Signer => ({
  configValue: secret,
  sign: () => ({ headers: { authorization: secret } }),
});
presetSuite({
  type: 'okta',
  config: (secrets) => ({ secrets }),
  signers: [oktaSigner(OLD), oktaSigner(NEW)],
  wrong: oktaSigner(WRONG),
  body: EVENT,
  contentType: 'application/json',
  signatureHeaders: ['authorization'],
  coversBody: false,
  replay: false,
});

describe('verify: okta', () => {
  it('the secret passes; two secrets rotate; the old one fails once removed', async () => {
    const both = verifier({ type: 'okta', secrets: [OLD, NEW] });
    const onlyNew = verifier({ type: 'okta', secrets: [NEW] });
    expect(await outcome(both, request(EVENT, { authorization: OLD }))).toBe('ok');
    expect(await outcome(both, request(EVENT, { authorization: NEW }))).toBe('ok');
    expect(await outcome(onlyNew, request(EVENT, { authorization: NEW }))).toBe('ok');
    expect(await outcome(onlyNew, request(EVENT, { authorization: OLD }))).toBe('mismatch');
    expect(await outcome(both, request(EVENT, { authorization: WRONG }))).toBe('mismatch');
    expect(await outcome(both, request(EVENT, {}))).toBe('missing');
    // The body is not covered: any body passes with the secret (why HTTPS matters).
    expect(await outcome(both, request('{"forged":true}', { authorization: OLD }))).toBe('ok');
  });

  it('table: the whole header value, a chosen header, missing and wrong', async () => {
    const v = verifier({ type: 'okta', secrets: [OLD, 'Bearer okta-bearer-value-1234'] });
    const custom = verifier({ type: 'okta', header: 'X-Okta-Hook-Key', secrets: [NEW] });
    const cases: [string, ReturnType<typeof verifier>, Record<string, string>, string][] = [
      ['secret', v, { authorization: OLD }, 'ok'],
      ['surrounding spaces are not part of a header value', v, { authorization: `  ${OLD} ` }, 'ok'],
      ['value written with a scheme in Okta', v, { authorization: 'Bearer okta-bearer-value-1234' }, 'ok'],
      ['scheme added by someone else', v, { authorization: `Bearer ${OLD}` }, 'mismatch'],
      ['a prefix of the secret', v, { authorization: OLD.slice(0, -1) }, 'mismatch'],
      ['case matters', v, { authorization: OLD.toUpperCase() }, 'mismatch'],
      ['empty', v, { authorization: '' }, 'missing'],
      ['none', v, {}, 'missing'],
      ['custom header', custom, { 'x-okta-hook-key': NEW }, 'ok'],
      ['custom header: Authorization is not it', custom, { authorization: NEW }, 'missing'],
    ];
    for (const [name, verify, h, expected] of cases)
      expect(await outcome(verify, request(EVENT, h)), name).toBe(expected);
  });

  it('an invalid header name is a config error', () => {
    expect(() => verifier({ type: 'okta', header: 'Bad Header', secrets: [OLD] })).toThrow(
      /valid HTTP header name/,
    );
  });

  it("the preset's example and handshake parse", () => {
    const preset = oktaVerifier.preset!;
    const text = preset.example.replaceAll('${OKTA_HOOK_SECRET}', OLD);
    expect(verifierSchema.parse(load(text))).toEqual({
      type: 'okta',
      header: 'Authorization',
      secrets: [OLD],
    });
    expect(verifierSchema.parse({ type: 'okta', secrets: [OLD] })).toMatchObject({ header: 'Authorization' });
    expect(handshakeSchema.parse(load(preset.handshake!))).toEqual({ type: 'okta' });
  });

  describe('through a relay, with the okta handshake', () => {
    let target: Target;
    let relay: Relay;
    afterEach(async () => {
      await relay?.close();
      await target?.close();
    });

    it('the verification GET is answered only with the secret; events are forwarded', async () => {
      target = await startTarget();
      relay = await startRelay(
        `
routes:
  - id: okta
    path: /okta/events
    handshake: { type: okta }
    verify:
      - type: okta
        secrets: ["\${OKTA_HOOK_SECRET}", "\${OKTA_HOOK_SECRET_NEXT}"]
    forward:
      url: ${target.url}/okta
`,
        { OKTA_HOOK_SECRET: OLD, OKTA_HOOK_SECRET_NEXT: NEW },
      );
      const url = `${relay.url}/okta/events`;
      const challenge = { 'x-okta-verification-challenge': 'H9G5SMZ2z1PH1mxiY7Fu_WKs6yCTEpsSMj2Wp1lZ' };
      const ok = await fetch(url, { headers: { ...challenge, authorization: NEW } });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ verification: challenge['x-okta-verification-challenge'] });
      expect((await fetch(url, { headers: { ...challenge, authorization: WRONG } })).status).toBe(401);
      expect((await fetch(url, { headers: challenge })).status).toBe(401);

      const post = (headers: Record<string, string>) =>
        fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: EVENT,
        });
      expect((await post({ authorization: OLD })).status).toBe(200);
      // The same event again passes: a shared token has no replay window.
      expect((await post({ authorization: OLD })).status).toBe(200);
      const refused = await post({ authorization: WRONG });
      expect(refused.status).toBe(401);
      const error = (await refused.json()) as { error: string; message: string; route: string };
      expect(error).toMatchObject({ error: 'HOOKRELAY_ERR_UNAUTHORIZED', route: 'okta' });
      expect(error.message).toContain('(verify[0] (okta): mismatch)');
      expect(target.received.map((r) => `${r.method} ${r.body}`)).toEqual([`POST ${EVENT}`, `POST ${EVENT}`]);
      expect(await failures(relay, 'okta', 'okta', 'mismatch')).toBe(2);
      expect(await failures(relay, 'okta', 'okta', 'missing')).toBe(1);
      const logs = JSON.stringify(relay.logs);
      for (const secret of [OLD, NEW, WRONG]) expect(logs).not.toContain(secret);
    });
  });
});
