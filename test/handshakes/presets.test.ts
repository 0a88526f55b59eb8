import { describe, expect, it } from 'vitest';
import { CHALLENGE_LIMIT } from '../../src/handshakes/types.ts';
import { call, preset, reply } from './support.ts';

/** Each preset against its provider's documented exchange (example values from their docs). */

// https://api.slack.com/events/url_verification
const SLACK_BODY =
  '{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}';
const SLACK_CHALLENGE = '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P';

const PLAIN = {
  'content-type': 'text/plain; charset=utf-8',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; sandbox",
  'cache-control': 'no-store',
};
const plain = (body: string) => ({ kind: 'answer', status: 200, headers: PLAIN, body });
const json = (value: unknown) => ({
  kind: 'answer',
  status: 200,
  headers: { ...PLAIN, 'content-type': 'application/json; charset=utf-8' },
  body: JSON.stringify(value),
});
const malformed = { kind: 'refuse', reason: 'malformed' };

describe('handshake presets: the documented exchanges', () => {
  it('slack: url_verification answered with the challenge; events and other bodies go on', () => {
    const slack = preset({ type: 'slack' });
    expect(slack.signed).toBe(true);
    expect(reply(slack, call('POST', '', SLACK_BODY))).toEqual(plain(SLACK_CHALLENGE));
    const event = '{"type":"event_callback","event":{"type":"message","text":"url_verification"}}';
    expect(reply(slack, call('POST', '', event))).toBeUndefined();
    expect(reply(slack, call('POST', '', 'not json url_verification'))).toBeUndefined();
    expect(reply(slack, call('POST', '', '{"type":"event_callback"}'))).toBeUndefined();
    expect(reply(slack, call('POST', '', '{"type":"url_verification"}'))).toMatchObject(malformed);
    expect(reply(slack, call('POST', '', '{"type":"url_verification","challenge":7}'))).toMatchObject(
      malformed,
    );
  });

  it('msgraph: ?validationToken= answered with the decoded token, text/plain', () => {
    const graph = preset({ type: 'msgraph' });
    expect(graph.signed).toBe(false);
    const token = 'Validation: Testing client application reachability for subscription Request-Id: 7f4e';
    const query = `validationToken=${encodeURIComponent(token)}`;
    expect(reply(graph, call('POST', query))).toEqual(plain(token));
    expect(reply(graph, call('POST', '', '{"value":[]}'))).toBeUndefined();
    expect(reply(graph, call('POST', 'validationToken='))).toMatchObject(malformed);
    expect(reply(graph, call('POST', 'validationToken=a&validationToken=b'))).toMatchObject(malformed);
  });

  it('okta: X-Okta-Verification-Challenge answered {"verification": value}', () => {
    const okta = preset({ type: 'okta' });
    expect(okta.signed).toBe(true);
    const headers = { 'X-Okta-Verification-Challenge': 'H9G5SMZ2z1PH1mxiY7Fu_WKs6yCTEpsSMj2Wp1lZ' };
    expect(reply(okta, call('GET', '', '', headers))).toEqual(
      json({ verification: 'H9G5SMZ2z1PH1mxiY7Fu_WKs6yCTEpsSMj2Wp1lZ' }),
    );
    expect(reply(okta, call('GET'))).toBeUndefined();
    expect(reply(okta, call('POST', '', '{}', headers))).toBeUndefined();
  });

  it('meta: the verify token checked, the challenge echoed; a wrong token refused', () => {
    const meta = preset({ type: 'meta', verifyToken: 'meatyhamhock' });
    expect(meta.signed).toBe(false);
    const ok = 'hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock';
    expect(reply(meta, call('GET', ok))).toEqual(plain('1158201444'));
    const wrong = 'hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyham';
    expect(reply(meta, call('GET', wrong))).toMatchObject({ kind: 'refuse', reason: 'forbidden' });
    expect(reply(meta, call('GET', 'hub.mode=subscribe&hub.challenge=1'))).toMatchObject({
      reason: 'forbidden',
    });
    expect(
      reply(meta, call('GET', 'hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=meatyhamhock')),
    ).toMatchObject(malformed);
    expect(reply(meta, call('GET', 'hub.mode=subscribe&hub.verify_token=meatyhamhock'))).toMatchObject(
      malformed,
    );
    expect(reply(meta, call('GET', 'other=1'))).toBeUndefined();
  });

  it('zoom: endpoint.url_validation answered with plainToken and its hex HMAC-SHA256', () => {
    const zoom = preset({ type: 'zoom', secretToken: 'zoom-secret-token-example' });
    expect(zoom.signed).toBe(true);
    // https://developers.zoom.us/docs/api/webhooks/#validate-your-webhook-endpoint (their plainToken);
    // the expected value computed independently: printf … | openssl dgst -sha256 -hmac <secret>.
    const body =
      '{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}';
    expect(reply(zoom, call('POST', '', body))).toEqual(
      json({
        plainToken: 'qgg8vlvZRS6UYooatFL8Aw',
        encryptedToken: '02b388957bd75494d35ec1658be6692dcda1d75201c34a5b7fbc48a7a2e59fc3',
      }),
    );
    expect(reply(zoom, call('POST', '', '{"event":"meeting.started","payload":{}}'))).toBeUndefined();
    expect(reply(zoom, call('POST', '', '{"event":"endpoint.url_validation"}'))).toMatchObject(malformed);
  });

  it('dropbox: ?challenge= echoed as text/plain with nosniff', () => {
    const dropbox = preset({ type: 'dropbox' });
    expect(dropbox.signed).toBe(false);
    expect(reply(dropbox, call('GET', 'challenge=d5f5bd9c-1bde-4a4e-bc55-8c5f2f1b5c6e'))).toEqual(
      plain('d5f5bd9c-1bde-4a4e-bc55-8c5f2f1b5c6e'),
    );
    expect(reply(dropbox, call('GET', 'challenge=a%0d%0aSet-Cookie:%20x=1'))).toMatchObject(malformed);
    expect(reply(dropbox, call('GET'))).toBeUndefined();
  });

  it("x: the CRC answered with sha256=base64(HMAC-SHA256) (X's developer example values)", () => {
    const x = preset({ type: 'x', consumerSecret: 'z3ZX4v7mAAUGykl3EcmkqbartmuW8VFOOzCloLx9Q45P0hLrFu' });
    expect(x.signed).toBe(false);
    // The expected value computed independently with openssl.
    expect(reply(x, call('GET', 'crc_token=9b4507b3-9040-4669-9ca3-6b94edb50553'))).toEqual(
      json({ response_token: 'sha256=Cytd4Sq+NvEcV3MMrXxWJGJx5A+y/lXzzU2Maartkx8=' }),
    );
    expect(reply(x, call('GET', 'crc_token='))).toMatchObject(malformed);
  });

  it('a challenge longer than the bound or holding control characters is refused, never echoed', () => {
    const dropbox = preset({ type: 'dropbox' });
    const long = 'a'.repeat(CHALLENGE_LIMIT + 1);
    expect(reply(dropbox, call('GET', `challenge=${long}`))).toMatchObject(malformed);
    expect(reply(dropbox, call('GET', `challenge=${'a'.repeat(CHALLENGE_LIMIT)}`))).toMatchObject({
      kind: 'answer',
    });
    // Multi-byte text counts in bytes.
    expect(reply(dropbox, call('GET', `challenge=${'é'.repeat(CHALLENGE_LIMIT / 2 + 1)}`))).toMatchObject(
      malformed,
    );
    for (const bad of ['%00', '%1b', '%7f', '%c2%85', '%e2%80%a8']) {
      expect(reply(dropbox, call('GET', `challenge=a${bad}b`)), bad).toMatchObject(malformed);
    }
    const slack = preset({ type: 'slack' });
    const body = JSON.stringify({ type: 'url_verification', challenge: 'a\nb' });
    expect(reply(slack, call('POST', '', body))).toMatchObject(malformed);
  });

  it('a JSON body deeper than the route limit is not parsed (not a handshake)', () => {
    const slack = preset({ type: 'slack' });
    const deep = `{"type":"url_verification","challenge":"c","x":${'['.repeat(100)}${']'.repeat(100)}}`;
    expect(reply(slack, call('POST', '', deep))).toBeUndefined();
  });
});
