import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, sample, startRelay, startTarget, type Target } from '../helpers.ts';
import { cli, declaredJson, documentedCommand, example } from './support.ts';

/**
 * config/examples/slack-events.yaml: Slack's Events API — the signed url_verification handshake
 * answered by the relay, the bot's own messages and unconsumed event types dropped, the rest stored,
 * acknowledged 200 at once, deduplicated on event_id and delivered with the help desk's token.
 */
const ex = example('slack-events');
const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const TOKEN = 'helpdesk-t0ken-s3cret';
const CHALLENGE = '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P';

/** Slack's signing: `v0=` + HMAC-SHA256 of `v0:{timestamp}:{body}` (api.slack.com/authentication/verifying-requests-from-slack). */
function signed(body: string, secret = SECRET): Record<string, string> {
  const ts = String(Math.floor(Date.now() / 1000));
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
  return {
    'content-type': 'application/json',
    'x-slack-request-timestamp': ts,
    'x-slack-signature': signature,
  };
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('slack-events', () => {
  let target: Target | undefined;
  let relay: Relay | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    relay = target = dir = undefined;
  });

  async function start() {
    dir = mkdtempSync(join(tmpdir(), 'hookrelay-slack-'));
    target = await startTarget();
    relay = await startRelay(ex.source, {
      SLACK_SIGNING_SECRET: SECRET,
      HELPDESK_TOKEN: TOKEN,
      HELPDESK_URL: `${target.url}/hooks/slack`,
      QUEUE_PATH: join(dir, 'queue.db'),
    });
    return relay;
  }

  const post = (url: string, body: string, headers: Record<string, string>) =>
    fetch(`${url}/slack/events`, { method: 'POST', headers, body });

  it('the handshake is answered with the challenge once signed, and never forwarded', async () => {
    const { url } = await start();
    const body = `{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"${CHALLENGE}","type":"url_verification"}`;
    const res = await post(url, body, signed(body));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(CHALLENGE);
    const forged = await post(url, body, signed(body, 'another-secret'));
    expect(forged.status).toBe(401);
    expect(await forged.text()).not.toContain(CHALLENGE);
    await new Promise((r) => setTimeout(r, 200));
    expect(target!.received).toHaveLength(0);
  });

  it('an app mention: 200 at once, delivered with the token; a retry of it is accepted once', async () => {
    const { url, logs } = await start();
    const body = ex.fixture('request.json').toString('utf8').trim();
    const res = await post(url, body, signed(body));
    expect(res.status).toBe(200);
    const again = await post(url, body, {
      ...signed(body),
      'x-slack-retry-num': '1',
      'x-slack-retry-reason': 'http_timeout',
    });
    expect(again.status).toBe(200);
    expect(again.headers.get('x-hookrelay-duplicate')).toBe('true');
    await until(() => target!.received.length >= 1);
    await new Promise((r) => setTimeout(r, 200));
    expect(target!.received).toHaveLength(1);
    const got = target!.received[0]!;
    expect(got.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(got.headers['x-slack-signature']).toBeDefined();
    expect(JSON.parse(got.body.toString('utf8'))).toEqual(ex.expected);
    expect(JSON.stringify(logs)).not.toContain(TOKEN);
    expect(JSON.stringify(logs)).not.toContain(SECRET);
  });

  it("the bot's own messages and unconsumed events are acknowledged, counted per rule, never stored", async () => {
    const { url } = await start();
    const bot =
      '{"type":"event_callback","team_id":"T1","event_id":"Ev2","event":{"type":"message","bot_id":"B1","text":"done"}}';
    const reaction =
      '{"type":"event_callback","team_id":"T1","event_id":"Ev3","event":{"type":"reaction_added"}}';
    const dropped = await post(url, bot, signed(bot));
    expect(dropped.status).toBe(200);
    expect(await dropped.json()).toMatchObject({ status: 'dropped', rule: 'own-messages' });
    expect((await post(url, reaction, signed(reaction))).status).toBe(200);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const labels = { route: 'slack-events', action: 'drop' };
    expect(sample(metrics, 'hookrelay_rule_matches_total', { ...labels, rule: 'own-messages' })).toBe(1);
    expect(sample(metrics, 'hookrelay_rule_matches_total', { ...labels, rule: 'not-consumed' })).toBe(1);
    expect(
      sample(metrics, 'hookrelay_queue_enqueued_total', { route: 'slack-events', result: 'accepted' }) ?? 0,
    ).toBe(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(target!.received).toHaveLength(0);
  });

  it('the fixture and the test case in the YAML expect the same body', () => {
    const env = { SLACK_SIGNING_SECRET: 'x', HELPDESK_TOKEN: 'x' };
    expect(declaredJson(ex, env, "an app mention becomes the help desk's event")).toEqual(ex.expected);
  });

  it('`# Check:` runs the tests declared in the file, and they pass', async () => {
    const { env, args } = documentedCommand(ex, 'Check');
    const result = await cli(args, env);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^4 passed, 0 failed$/m);
    expect(result.code).toBe(0);
  });

  it('`# Try:` prints the event that would be forwarded, and no token', async () => {
    const { env, args } = documentedCommand(ex, 'Try');
    const result = await cli(args, { ...env, HELPDESK_TOKEN: TOKEN });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^POST https:\/\/helpdesk\.example\.com\/hooks\/slack\n/);
    expect(result.stdout).toContain('authorization: Bearer <redacted>\n');
    expect(result.stdout).toContain(`\n${JSON.stringify(ex.expected, null, 2)}\n`);
    expect(result.stdout).not.toContain(TOKEN);
  });
});
