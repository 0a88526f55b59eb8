import { createHmac } from 'node:crypto';
import { EventSubMiddleware } from '@twurple/eventsub-http';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { verifierSchema } from '../../src/verifiers/index.ts';
import { rfc3339, twitchVerifier } from '../../src/verifiers/twitch.ts';
import { exampleSecret } from '../helpers.ts';
import { presetSuite, type Signer } from './preset-suite.ts';
import { outcome, request, verifier } from './support.ts';

// @twurple/eventsub-http verifies only (no signing function): messages are signed here per Twitch's
// document (hex HMAC-SHA256 of id + timestamp + body), and twurple's own check (_verifyData, the
// method its middleware runs on every message) is shown to accept what we accept and refuse the rest.
const SECRET = 'twitch-eventsub-secret-old';
const NEXT = 'twitch-eventsub-secret-new';
const BODY =
  '{"subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","type":"channel.follow","version":"2","status":"enabled"},"event":{"user_id":"1337","broadcaster_user_id":"1337"}}';

const twurpleVerify = (secret: string, id: string, timestamp: string, body: string, signature: string) =>
  (
    EventSubMiddleware.prototype as unknown as {
      _verifyData(this: { _secret: string }, ...args: string[]): boolean;
    }
  )._verifyData.call({ _secret: secret }, id, timestamp, body, signature);

const rfc = (at: number) => new Date(at).toISOString().replace('Z', '123456Z'); // nanoseconds, as Twitch sends
const sign = (secret: string, id: string, timestamp: string, body: string | Buffer) =>
  `sha256=${createHmac('sha256', secret).update(id).update(timestamp).update(body).digest('hex')}`;
const headers = (secret: string, id: string, timestamp: string, body: string | Buffer = BODY) => ({
  'twitch-eventsub-message-id': id,
  'twitch-eventsub-message-timestamp': timestamp,
  'twitch-eventsub-message-type': 'notification',
  'twitch-eventsub-message-signature': sign(secret, id, timestamp, body),
});

const signer = (secret: string): Signer => ({
  configValue: secret,
  sign: ({ body, at, id }) => ({ headers: headers(secret, id, rfc(at), body) }),
});

presetSuite({
  type: 'twitch',
  config: (values) => ({ secrets: values }),
  signers: [signer(SECRET), signer(NEXT)],
  wrong: signer('someone-elses-eventsub-secret'),
  body: BODY,
  contentType: 'application/json',
  signatureHeaders: ['twitch-eventsub-message-signature'],
  toleranceMs: 600_000,
});

describe('verify: twitch', () => {
  const now = Date.now();
  const ts = rfc(now);
  const v = verifier({ type: 'twitch', secrets: [SECRET] });

  it("twurple's check accepts what we accept and refuses the tampered one", async () => {
    const h = headers(SECRET, 'msg-1', ts);
    expect(twurpleVerify(SECRET, 'msg-1', ts, BODY, h['twitch-eventsub-message-signature'])).toBe(true);
    expect(await outcome(v, request(BODY, h), now)).toBe('ok');
    expect(twurpleVerify(SECRET, 'msg-1', ts, `${BODY} `, h['twitch-eventsub-message-signature'])).toBe(
      false,
    );
    expect(await outcome(v, request(`${BODY} `, h), now)).toBe('mismatch');
    expect(twurpleVerify(SECRET, 'msg-2', ts, BODY, h['twitch-eventsub-message-signature'])).toBe(false);
    expect(await outcome(v, request(BODY, { ...h, 'twitch-eventsub-message-id': 'msg-2' }), now)).toBe(
      'mismatch',
    );
  });

  it('table: id and timestamp signed, timestamp forms, malformed, missing and stale', async () => {
    const good = headers(SECRET, 'msg-1', ts);
    const without = (name: string) =>
      Object.fromEntries(Object.entries(good).filter(([key]) => key !== name));
    const cases: [string, Record<string, string>, number, string][] = [
      ['genuine', good, now, 'ok'],
      [
        'upper-case hex',
        {
          ...good,
          'twitch-eventsub-message-signature': good['twitch-eventsub-message-signature']
            .toUpperCase()
            .replace('SHA256=', 'sha256='),
        },
        now,
        'ok',
      ],
      [
        'timestamp without fraction',
        headers(SECRET, 'msg-1', new Date(now).toISOString().replace(/\.\d+Z$/, 'Z')),
        now,
        'ok',
      ],
      [
        'timestamp with an offset',
        headers(SECRET, 'msg-1', '2026-01-01T01:00:00.5+01:00'),
        Date.parse('2026-01-01T00:00:00Z'),
        'ok',
      ],
      [
        'another timestamp (signed)',
        { ...good, 'twitch-eventsub-message-timestamp': rfc(now + 1000) },
        now,
        'mismatch',
      ],
      ['wrong secret', headers('someone-elses-eventsub-secret', 'msg-1', ts), now, 'mismatch'],
      [
        'no sha256= prefix',
        { ...good, 'twitch-eventsub-message-signature': good['twitch-eventsub-message-signature'].slice(7) },
        now,
        'malformed',
      ],
      ['sha1=', { ...good, 'twitch-eventsub-message-signature': `sha1=${'0'.repeat(40)}` }, now, 'malformed'],
      [
        'Unix seconds instead of RFC 3339',
        headers(SECRET, 'msg-1', String(Math.floor(now / 1000))),
        now,
        'malformed',
      ],
      ['no signature', without('twitch-eventsub-message-signature'), now, 'missing'],
      ['no id', without('twitch-eventsub-message-id'), now, 'missing'],
      ['no timestamp', without('twitch-eventsub-message-timestamp'), now, 'missing'],
      ['older than 10 minutes', good, now + 601_000, 'expired'],
      ['from the future', good, now - 601_000, 'expired'],
      ['9 minutes old', good, now + 540_000, 'ok'],
    ];
    for (const [name, h, at, expected] of cases)
      expect(await outcome(v, request(BODY, h), at), name).toBe(expected);
  });

  it('the message id is the replay key', async () => {
    const result = await v.verify(request(BODY, headers(SECRET, 'msg-42', ts)), now);
    expect(result).toMatchObject({ ok: true, messageId: 'msg-42' });
  });

  it('RFC 3339 parsing', () => {
    expect(rfc3339('2019-11-16T10:11:12.634234626Z')).toBe(Date.parse('2019-11-16T10:11:12.634Z'));
    expect(rfc3339('2019-11-16T10:11:12Z')).toBe(Date.parse('2019-11-16T10:11:12Z'));
    for (const bad of [
      '2019-11-16 10:11:12Z',
      '2019-11-16T10:11:12',
      '1573899072',
      '2019-13-45T10:11:12Z',
      '',
    ])
      expect(rfc3339(bad), bad).toBeUndefined();
  });

  it('config: the example parses; a secret Twitch would not accept is refused without quoting it', () => {
    const example = twitchVerifier.preset!.example.replace(/\$\{(\w+)\}/g, (_, name: string) =>
      exampleSecret(name),
    );
    expect(verifierSchema.parse(load(example))).toMatchObject({ type: 'twitch', tolerance: 600_000 });
    expect(() => verifier({ type: 'twitch', secrets: ['short'] })).toThrow(/10 to 100/);
    const bad = 'control\u0001characters';
    let message = '';
    try {
      verifier({ type: 'twitch', secrets: [bad] });
    } catch (error) {
      message = String(error);
    }
    expect(message).toMatch(/secrets/);
    expect(message).not.toContain(bad);
  });
});
