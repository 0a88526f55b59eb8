import { createHmac } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { sign } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { createReplayWindow } from '../../src/verifiers/replay.ts';
import { type Relay, startRelay, startTarget, type Target } from '../helpers.ts';
import { failures } from './support.ts';

describe('replay window (module)', () => {
  it('refuses a message seen within the window, by id or by signature, until it expires', () => {
    const window = createReplayWindow(60_000);
    expect(window.claim({ messageId: 'a', signature: 's1' }, 0)).toBeTypeOf('function');
    expect(window.claim({ messageId: 'a', signature: 's2' }, 1_000)).toBeUndefined();
    // The same signed content under a fresh (unsigned) id is the same message.
    expect(window.claim({ messageId: 'b', signature: 's1' }, 1_000)).toBeUndefined();
    expect(window.claim({ messageId: 'b', signature: 's2' }, 1_000)).toBeTypeOf('function');
    expect(window.claim({ messageId: 'a', signature: 's1' }, 60_000)).toBeTypeOf('function');
  });

  it('a release forgets the message; a stale release does not forget a newer claim', () => {
    const window = createReplayWindow(1_000);
    const first = window.claim({ messageId: 'a' }, 0)!;
    first();
    const second = window.claim({ messageId: 'a' }, 10);
    expect(second).toBeTypeOf('function');
    first();
    expect(window.claim({ messageId: 'a' }, 20)).toBeUndefined();
    expect(window.size).toBe(1);
  });

  it('is bounded: beyond the maximum the oldest messages are forgotten first', () => {
    const window = createReplayWindow(60_000, 3);
    for (const id of ['a', 'b', 'c', 'd']) expect(window.claim({ messageId: id }, 0)).toBeTypeOf('function');
    expect(window.size).toBe(3);
    expect(window.claim({ messageId: 'd' }, 1)).toBeUndefined();
    expect(window.claim({ messageId: 'a' }, 1)).toBeTypeOf('function');
  });

  it('expired entries are dropped as time passes', () => {
    const window = createReplayWindow(100);
    for (let i = 0; i < 50; i++) window.claim({ messageId: `m${i}` }, i);
    window.claim({ messageId: 'late' }, 200);
    expect(window.size).toBe(1);
  });
});

const SECRET = `whsec_${Buffer.from('replay-test-key-0001').toString('base64')}`;
const BODY = '{"type":"order.created","id":"ord_1"}';

function signed(id: string, body = BODY): Record<string, string> {
  const at = new Date();
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(SECRET).sign(id, at, body),
  };
}

describe('replay window through a relay', () => {
  let target: Target;
  let relay: Relay;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
  });

  async function setup(handler?: Parameters<typeof startTarget>[0], verify?: string) {
    target = await startTarget(handler);
    relay = await startRelay(
      `
routes:
  - id: sw
    path: /in
    verify:
${
  verify ??
  `      - type: standard-webhooks
        secrets: ["\${SECRET}"]
        replayWindow: 10m`
}
    retry: { attempts: 1 }
    forward:
      url: ${target.url}/events
`,
      { SECRET },
    );
  }
  const post = (headers: Record<string, string>, body = BODY) =>
    fetch(`${relay.url}/in`, { method: 'POST', headers, body });

  it('a replayed message id is refused with 401 replayed and not forwarded', async () => {
    await setup();
    const headers = signed('msg_1');
    expect((await post(headers)).status).toBe(200);
    const res = await post(headers);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { message: string }).message).toBe(
      'the caller could not be verified (verify[0] (standard-webhooks): replayed)',
    );
    expect((await post(signed('msg_2'))).status).toBe(200);
    expect(target.received.map((r) => r.headers['webhook-id'])).toEqual(['msg_1', 'msg_2']);
    expect(await failures(relay, 'sw', 'standard-webhooks', 'replayed')).toBe(1);
    const line = relay.logs.find((l) => l.code === 'HOOKRELAY_ERR_UNAUTHORIZED')!;
    expect(line.detail).toBe('message already seen within the replay window');
    expect(JSON.stringify(relay.logs)).not.toContain(headers['webhook-signature']!.slice(3));
  });

  it("a sender's retry after a failed delivery gets through: the target answered 500, then 200", async () => {
    await setup((_req, res, index) => {
      res.statusCode = index === 0 ? 500 : 200;
      res.end(index === 0 ? 'down' : '{"ok":true}');
    });
    const headers = signed('msg_retry');
    // The target's 500 after the last attempt: the caller gets 502 and will retry.
    expect((await post(headers)).status).toBe(502);
    expect((await post(headers)).status).toBe(200);
    // Delivered once: from now on it is a replay.
    expect((await post(headers)).status).toBe(401);
    expect(target.received).toHaveLength(2);
    expect(await failures(relay, 'sw', 'standard-webhooks', 'replayed')).toBe(1);
  });

  it('a retry after a refusal by a later check also gets through (only a 2xx is remembered)', async () => {
    await setup(
      undefined,
      `      - type: standard-webhooks
        secrets: ["\${SECRET}"]
        replayWindow: 10m
      - { type: apiKey, header: X-Api-Key, keys: [the-right-key-123] }`,
    );
    const headers = signed('msg_k');
    expect((await post({ ...headers, 'x-api-key': 'a-wrong-key-0000' })).status).toBe(401);
    expect((await post({ ...headers, 'x-api-key': 'the-right-key-123' })).status).toBe(200);
    expect(target.received).toHaveLength(1);
  });

  it('a concurrent duplicate is refused while the first is still in flight', async () => {
    let hold!: () => void;
    const held = new Promise<void>((done) => {
      hold = done;
    });
    let arrived!: () => void;
    const first = new Promise<void>((done) => {
      arrived = done;
    });
    await setup(async (_req, res: ServerResponse) => {
      arrived();
      await held;
      res.end('{"ok":true}');
    });
    const headers = signed('msg_race');
    const pending = post(headers);
    await first;
    expect((await post(headers)).status).toBe(401);
    hold();
    expect((await pending).status).toBe(200);
    expect(target.received).toHaveLength(1);
  });

  it('github: a captured delivery resent under a new X-GitHub-Delivery is still a replay', async () => {
    await setup(
      undefined,
      `      - type: github
        secrets: [gh-replay-secret]
        replayWindow: 10m`,
    );
    const signature = await sign('gh-replay-secret', BODY);
    const send = (delivery: string, body = BODY) =>
      post({ 'x-hub-signature-256': signature, 'x-github-delivery': delivery }, body);
    expect((await send('d-1')).status).toBe(200);
    expect((await send('d-1')).status).toBe(401);
    expect((await send('d-2')).status).toBe(401);
    const other = '{"type":"order.created","id":"ord_2"}';
    const res = await post(
      { 'x-hub-signature-256': await sign('gh-replay-secret', other), 'x-github-delivery': 'd-1' },
      other,
    );
    expect(res.status).toBe(401);
    expect(target.received).toHaveLength(1);
  });

  it('generic hmac: idHeader and replayWindow', async () => {
    await setup(
      undefined,
      `      - type: hmac
        header: X-Signature
        idHeader: X-Message-Id
        replayWindow: 1m
        secrets: [hmac-replay-secret]`,
    );
    const signature = createHmac('sha256', 'hmac-replay-secret').update(BODY).digest('hex');
    expect((await post({ 'x-signature': signature, 'x-message-id': 'm1' })).status).toBe(200);
    expect((await post({ 'x-signature': signature, 'x-message-id': 'm1' })).status).toBe(401);
    expect(await failures(relay, 'sw', 'hmac', 'replayed')).toBe(1);
  });
});
