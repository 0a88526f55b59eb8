import { sign, verify } from '@octokit/webhooks-methods';
import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, startRelay, startTarget, type Target } from '../helpers.ts';
import { presetSuite, type Signer } from './preset-suite.ts';
import { expectCleanLogs, failures, outcome, request, verifier } from './support.ts';

const SECRET = 'gh-old-secret-0001';
const NEXT = 'gh-new-secret-0002';
const BODY = '{"action":"opened","number":7,"title":"caf\u00e9 \u2713"}';

describe('verify: github', () => {
  it("GitHub's published example vector passes", async () => {
    // https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation
    const v = verifier({ type: 'github', secrets: ["It's a Secret to Everybody"] });
    const signature = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
    expect(await outcome(v, request('Hello, World!', { 'x-hub-signature-256': signature }))).toBe('ok');
    expect(await outcome(v, request('Hello, World?', { 'x-hub-signature-256': signature }))).toBe('mismatch');
  });

  it('agrees with @octokit/webhooks-methods on valid, rotated, wrong, missing and malformed signatures', async () => {
    const v = verifier({ type: 'github', secrets: [SECRET, NEXT] });
    const old = await sign(SECRET, BODY);
    const next = await sign(NEXT, BODY);
    expect(await verify(SECRET, BODY, old)).toBe(true);
    const cases: [Record<string, string>, string, string][] = [
      [{ 'x-hub-signature-256': old }, BODY, 'ok'],
      [{ 'x-hub-signature-256': next }, BODY, 'ok'],
      [{ 'x-hub-signature-256': next.toUpperCase().replace('SHA256=', 'sha256=') }, BODY, 'ok'],
      [{ 'x-hub-signature-256': await sign('some-other-secret', BODY) }, BODY, 'mismatch'],
      [{ 'x-hub-signature-256': old }, `${BODY} `, 'mismatch'],
      [{}, BODY, 'missing'],
      [{ 'x-hub-signature-256': old.slice(7) }, BODY, 'malformed'],
      [{ 'x-hub-signature-256': `${old}00` }, BODY, 'malformed'],
      // The legacy SHA-1 header alone is not accepted.
      [{ 'x-hub-signature': `sha1=${'0'.repeat(40)}` }, BODY, 'missing'],
    ];
    for (const [headers, body, expected] of cases) {
      expect(await outcome(v, request(body, headers)), JSON.stringify(headers)).toBe(expected);
    }
  });

  describe('through a relay', () => {
    let target: Target;
    let relay: Relay;
    afterEach(async () => {
      await relay?.close();
      await target?.close();
    });

    it('forwards a signed delivery byte for byte; refuses the rest with 401 and forwards nothing', async () => {
      target = await startTarget();
      relay = await startRelay(
        `
routes:
  - id: gh
    path: /in/github
    verify:
      - type: github
        secrets: ["\${GH_SECRET}", "\${GH_SECRET_NEXT}"]
    forward:
      url: ${target.url}/hook
`,
        { GH_SECRET: SECRET, GH_SECRET_NEXT: NEXT },
      );
      const post = (headers: Record<string, string>, body = BODY) =>
        fetch(`${relay.url}/in/github`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-github-event': 'pull_request', ...headers },
          body,
        });
      const good = await sign(NEXT, BODY);
      expect((await post({ 'x-hub-signature-256': good })).status).toBe(200);
      expect(target.received.map((r) => r.body.toString('utf8'))).toEqual([BODY]);
      const wrong = await sign('wrong-secret', BODY);
      const res = await post({ 'x-hub-signature-256': wrong });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({
        error: 'HOOKRELAY_ERR_UNAUTHORIZED',
        message: 'the caller could not be verified (verify[0] (github): mismatch)',
      });
      expect((await post({ 'x-hub-signature-256': good }, `${BODY}\n`)).status).toBe(401);
      expect((await post({})).status).toBe(401);
      expect(target.received).toHaveLength(1);
      expect(await failures(relay, 'gh', 'github', 'mismatch')).toBe(2);
      expect(await failures(relay, 'gh', 'github', 'missing')).toBe(1);
      expectCleanLogs(relay, [SECRET, NEXT], [good.slice(7), wrong.slice(7)]);
    });
  });
});

const githubSigner = (secret: string): Signer => ({
  configValue: secret,
  sign: async ({ body, id }) => ({
    headers: { 'x-hub-signature-256': await sign(secret, body.toString()), 'x-github-delivery': id },
  }),
});
presetSuite({
  type: 'github',
  config: (secrets) => ({ secrets }),
  signers: [githubSigner(SECRET), githubSigner(NEXT)],
  wrong: githubSigner('gh-someone-else-0003'),
  body: BODY,
  contentType: 'application/json',
  signatureHeaders: ['x-hub-signature-256'],
});
