import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, startRelay, startTarget, type Target } from '../helpers.ts';
import { presetSuite, type Signer } from './preset-suite.ts';
import { expectCleanLogs, failures, outcome, request, verifier } from './support.ts';

// https://api.slack.com/authentication/verifying-requests-from-slack — the worked example.
const DOC_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const DOC_TIMESTAMP = '1531420618';
const DOC_BODY =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const DOC_SIGNATURE = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';
const DOC_NOW = Number(DOC_TIMESTAMP) * 1000;

const NEXT = 'slack-next-signing-secret-0002';
const slackSign = (secret: string, timestamp: string, body: string) =>
  `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;

describe('verify: slack', () => {
  it("Slack's documented example passes at its own time, and is stale 6 minutes later", async () => {
    const v = verifier({ type: 'slack', secrets: [DOC_SECRET] });
    const headers = { 'x-slack-signature': DOC_SIGNATURE, 'x-slack-request-timestamp': DOC_TIMESTAMP };
    expect(slackSign(DOC_SECRET, DOC_TIMESTAMP, DOC_BODY)).toBe(DOC_SIGNATURE);
    expect(await outcome(v, request(DOC_BODY, headers), DOC_NOW)).toBe('ok');
    expect(await outcome(v, request(DOC_BODY, headers), DOC_NOW + 360_000)).toBe('expired');
    expect(await outcome(v, request(DOC_BODY, headers))).toBe('expired');
  });

  it('table: rotation, wrong, tampered, missing and malformed', async () => {
    const v = verifier({ type: 'slack', secrets: [DOC_SECRET, NEXT], tolerance: '5m' });
    const ts = DOC_TIMESTAMP;
    const cases: [Record<string, string>, string, string][] = [
      [
        { 'x-slack-signature': slackSign(NEXT, ts, DOC_BODY), 'x-slack-request-timestamp': ts },
        DOC_BODY,
        'ok',
      ],
      [
        { 'x-slack-signature': slackSign('other', ts, DOC_BODY), 'x-slack-request-timestamp': ts },
        DOC_BODY,
        'mismatch',
      ],
      [
        { 'x-slack-signature': DOC_SIGNATURE, 'x-slack-request-timestamp': ts },
        `${DOC_BODY}&x=1`,
        'mismatch',
      ],
      // The timestamp is signed: moving it breaks the signature.
      [
        { 'x-slack-signature': DOC_SIGNATURE, 'x-slack-request-timestamp': String(Number(ts) + 1) },
        DOC_BODY,
        'mismatch',
      ],
      [{ 'x-slack-request-timestamp': ts }, DOC_BODY, 'missing'],
      [{ 'x-slack-signature': DOC_SIGNATURE }, DOC_BODY, 'missing'],
      [
        { 'x-slack-signature': DOC_SIGNATURE.slice(3), 'x-slack-request-timestamp': ts },
        DOC_BODY,
        'malformed',
      ],
      [
        { 'x-slack-signature': DOC_SIGNATURE, 'x-slack-request-timestamp': 'yesterday' },
        DOC_BODY,
        'malformed',
      ],
    ];
    for (const [headers, body, expected] of cases) {
      expect(await outcome(v, request(body, headers), DOC_NOW), JSON.stringify(headers)).toBe(expected);
    }
  });

  describe('through a relay', () => {
    let target: Target;
    let relay: Relay;
    afterEach(async () => {
      await relay?.close();
      await target?.close();
    });

    it('forwards a freshly signed slash command; the documented (old) request is refused as expired', async () => {
      target = await startTarget();
      relay = await startRelay(
        `
routes:
  - id: slack
    path: /in/slack
    verify:
      - type: slack
        secrets: ["\${SLACK_SIGNING_SECRET}"]
    forward:
      url: ${target.url}/commands
`,
        { SLACK_SIGNING_SECRET: DOC_SECRET },
      );
      const post = (headers: Record<string, string>) =>
        fetch(`${relay.url}/in/slack`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
          body: DOC_BODY,
        });
      const now = String(Math.floor(Date.now() / 1000));
      const fresh = slackSign(DOC_SECRET, now, DOC_BODY);
      expect((await post({ 'x-slack-signature': fresh, 'x-slack-request-timestamp': now })).status).toBe(200);
      const old = await post({
        'x-slack-signature': DOC_SIGNATURE,
        'x-slack-request-timestamp': DOC_TIMESTAMP,
      });
      expect(old.status).toBe(401);
      expect(target.received.map((r) => r.body.toString())).toEqual([DOC_BODY]);
      expect(await failures(relay, 'slack', 'slack', 'expired')).toBe(1);
      expectCleanLogs(relay, [DOC_SECRET], [fresh.slice(3), DOC_SIGNATURE.slice(3)]);
    });
  });
});

const slackSigner = (secret: string): Signer => ({
  configValue: secret,
  sign: ({ body, at }) => {
    const timestamp = String(Math.floor(at / 1000));
    return {
      headers: {
        'x-slack-signature': slackSign(secret, timestamp, body.toString()),
        'x-slack-request-timestamp': timestamp,
      },
    };
  },
});
presetSuite({
  type: 'slack',
  config: (secrets) => ({ secrets }),
  signers: [slackSigner(DOC_SECRET), slackSigner(NEXT)],
  wrong: slackSigner('slack-someone-else-secret-03'),
  body: DOC_BODY,
  contentType: 'application/x-www-form-urlencoded',
  signatureHeaders: ['x-slack-signature'],
  toleranceMs: 300_000,
  // Slack signs no message id: the replay window remembers the signature, which the timestamp makes unique.
});
