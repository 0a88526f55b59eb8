import { load } from 'js-yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { gitlabVerifier } from '../../src/verifiers/gitlab.ts';
import { verifierSchema } from '../../src/verifiers/index.ts';
import { type Relay, startRelay, startTarget, type Target } from '../helpers.ts';
import { presetSuite, type Signer } from './preset-suite.ts';
import { expectCleanLogs, failures, outcome, request, verifier } from './support.ts';

// GitLab has no library for the receiving side: per its documentation the webhook's Secret token
// is sent, as is, in X-Gitlab-Token. A token covers no body: the shared suite runs with
// `coversBody: false` (a changed body passes, as the docs say).
const OLD = 'glwt-old-3c9f1e7a5b2d8c4e6f0a';
const NEW = 'glwt-new-7d1b3f5a9c2e4b6d8f0c';
const WRONG = 'glwt-guess-000000000000000000';
const BODY =
  '{"object_kind":"push","event_name":"push","ref":"refs/heads/main","checkout_sha":"da1560886d4f094c3e6c9ef40349f7d38b5d27d7","project":{"id":15,"path_with_namespace":"acme/relay"}}';

const headers = (token: string, key = 'a3f1c7e2-9b4d-4e6f-8a1c-2d3e4f5a6b7c', uuid = key) => ({
  'x-gitlab-token': token,
  'x-gitlab-event': 'Push Hook',
  'idempotency-key': key,
  'x-gitlab-event-uuid': uuid,
});

const gitlabSigner = (token: string): Signer => ({
  configValue: token,
  sign: ({ id }) => ({ headers: headers(token, id) }),
});
presetSuite({
  type: 'gitlab',
  config: (secrets) => ({ secrets }),
  signers: [gitlabSigner(OLD), gitlabSigner(NEW)],
  wrong: gitlabSigner(WRONG),
  body: BODY,
  contentType: 'application/json',
  signatureHeaders: ['x-gitlab-token'],
  coversBody: false,
});

describe('verify: gitlab', () => {
  it('the token passes; two tokens rotate; the old one fails once removed; the body is not covered', async () => {
    const both = verifier({ type: 'gitlab', secrets: [OLD, NEW] });
    const onlyNew = verifier({ type: 'gitlab', secrets: [NEW] });
    expect(await outcome(both, request(BODY, headers(OLD)))).toBe('ok');
    expect(await outcome(both, request(BODY, headers(NEW)))).toBe('ok');
    expect(await outcome(onlyNew, request(BODY, headers(NEW)))).toBe('ok');
    expect(await outcome(onlyNew, request(BODY, headers(OLD)))).toBe('mismatch');
    expect(await outcome(both, request(BODY, headers(WRONG)))).toBe('mismatch');
    expect(await outcome(both, request(BODY, { 'x-gitlab-event': 'Push Hook' }))).toBe('missing');
    expect(await outcome(both, request(BODY, { 'x-gitlab-token': '' }))).toBe('missing');
    expect(await outcome(both, request(BODY, { 'x-gitlab-token': OLD.slice(0, -1) }))).toBe('mismatch');
    expect(await outcome(both, request(BODY, { 'x-gitlab-token': `Bearer ${OLD}` }))).toBe('mismatch');
    expect(await outcome(both, request('{"forged":true}', headers(OLD)))).toBe('ok');
  });

  it('names a delivery by Idempotency-Key, else X-Gitlab-Event-UUID, never by the token', async () => {
    const v = verifier({ type: 'gitlab', secrets: [OLD] });
    const named = async (h: Record<string, string>) => {
      const result = await v.verify(request(BODY, h), Date.now());
      expect(result.ok).toBe(true);
      return result.ok ? [result.messageId, result.signature] : [];
    };
    expect(await named(headers(OLD, 'key-1', 'uuid-1'))).toEqual(['key-1', undefined]);
    expect(await named({ 'x-gitlab-token': OLD, 'x-gitlab-event-uuid': 'uuid-2' })).toEqual([
      'uuid-2',
      undefined,
    ]);
    expect(await named({ 'x-gitlab-token': OLD })).toEqual([undefined, undefined]);
  });

  it('the replay window refuses a delivery seen before, and remembers nothing without an id', () => {
    const v = verifier({ type: 'gitlab', secrets: [OLD], replayWindow: '10m' });
    const now = Date.now();
    expect(v.replay!.claim({ messageId: 'key-1' }, now)).toBeTypeOf('function');
    expect(v.replay!.claim({ messageId: 'key-1' }, now + 1000)).toBeUndefined();
    expect(v.replay!.claim({ messageId: 'key-2' }, now + 1000)).toBeTypeOf('function');
    // Two deliveries without an id (older GitLab) are both let through.
    expect(v.replay!.claim({}, now)).toBeTypeOf('function');
    expect(v.replay!.claim({}, now)).toBeTypeOf('function');
    expect(verifier({ type: 'gitlab', secrets: [OLD] }).replay).toBeUndefined();
  });

  it("the preset's example parses", () => {
    const text = gitlabVerifier.preset!.example.replaceAll('${GITLAB_WEBHOOK_TOKEN}', OLD);
    expect(verifierSchema.parse(load(text))).toEqual({
      type: 'gitlab',
      secrets: [OLD],
      replayWindow: 600_000,
    });
  });

  describe('through a relay', () => {
    let target: Target;
    let relay: Relay;
    afterEach(async () => {
      await relay?.close();
      await target?.close();
    });

    it('forwards byte for byte; a wrong token is 401 JSON; a resent delivery is refused as replayed', async () => {
      target = await startTarget();
      relay = await startRelay(
        `
routes:
  - id: gitlab
    path: /in/gitlab
    verify:
      - type: gitlab
        secrets: ["\${GITLAB_WEBHOOK_TOKEN}", "\${GITLAB_WEBHOOK_TOKEN_NEXT}"]
        replayWindow: 10m
    forward:
      url: ${target.url}/gitlab
`,
        { GITLAB_WEBHOOK_TOKEN: OLD, GITLAB_WEBHOOK_TOKEN_NEXT: NEW },
      );
      const post = (h: Record<string, string>) =>
        fetch(`${relay.url}/in/gitlab`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...h },
          body: BODY,
        });
      expect((await post(headers(OLD, 'delivery-1'))).status).toBe(200);
      expect((await post(headers(NEW, 'delivery-2'))).status).toBe(200);
      const refused = await post(headers(WRONG, 'delivery-3'));
      expect(refused.status).toBe(401);
      const error = (await refused.json()) as { error: string; message: string; route: string };
      expect(error).toMatchObject({ error: 'HOOKRELAY_ERR_UNAUTHORIZED', route: 'gitlab' });
      expect(error.message).toContain('(verify[0] (gitlab): mismatch)');
      // Resent as captured: refused. Each call is remembered by its id, not by the token.
      expect((await post(headers(OLD, 'delivery-1'))).status).toBe(401);
      expect((await post(headers(OLD, 'delivery-4'))).status).toBe(200);
      expect(await failures(relay, 'gitlab', 'gitlab', 'replayed')).toBe(1);
      expect(await failures(relay, 'gitlab', 'gitlab', 'mismatch')).toBe(1);
      expect(target.received).toHaveLength(3);
      expect(target.received.every((r) => r.body.toString() === BODY)).toBe(true);
      expectCleanLogs(relay, [OLD, NEW, WRONG], []);
    });
  });
});
