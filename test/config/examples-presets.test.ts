import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EventWebhook } from '@sendgrid/eventwebhook';
import { verifyKey } from 'discord-interactions';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { documentedCommand } from '../examples/support.ts';
import { type Relay, startRelay, startTarget, type Target } from '../helpers.ts';
import { runCli } from '../support/cli.ts';

/**
 * The worked examples of the asymmetric presets, each run as a real relay with freshly generated
 * keys: config/examples/discord-interactions.yaml (Ed25519, the PING handshake, sync) and
 * config/examples/sendgrid-events.yaml (ECDSA P-256, async through the durable queue). Requests are
 * signed with node:crypto and checked with the providers' own verifiers first, so the test signs as
 * the provider does.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const source = (name: string) => readFileSync(join(ROOT, 'config/examples', `${name}.yaml`), 'utf8');
const timestamp = () => String(Math.floor(Date.now() / 1000));
const dir = mkdtempSync(join(tmpdir(), 'hookrelay-presets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let target: Target | undefined;
let relay: Relay | undefined;
afterEach(async () => {
  await relay?.close();
  await target?.close();
  relay = target = undefined;
});

async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('discord-interactions', () => {
  const keys = generateKeyPairSync('ed25519');
  // 64 hex digits, as the Developer Portal shows it: the raw key after the 12-byte SPKI header.
  const PUBLIC_KEY = keys.publicKey.export({ format: 'der', type: 'spki' }).subarray(12).toString('hex');
  const BOT_TOKEN = 'discord-bot-backend-t0ken';
  const PING = '{"application_id":"1183456963206561813","id":"1183457295017947136","type":1,"version":1}';
  const COMMAND =
    '{"application_id":"1183456963206561813","id":"1183457295017947137","type":2,"data":{"name":"status","type":1},"version":1}';
  const ANSWER = '{"type":4,"data":{"content":"all systems go"}}';

  /** Discord's signing: Ed25519 over `{timestamp}{body}`, hex. */
  function signed(body: string, privateKey: KeyObject = keys.privateKey): Record<string, string> {
    const ts = timestamp();
    return {
      'content-type': 'application/json',
      'x-signature-ed25519': sign(null, Buffer.from(ts + body), privateKey).toString('hex'),
      'x-signature-timestamp': ts,
    };
  }

  async function start() {
    target = await startTarget((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(ANSWER);
    });
    relay = await startRelay(source('discord-interactions'), {
      DISCORD_PUBLIC_KEY: PUBLIC_KEY,
      BOT_TOKEN,
      BOT_URL: `${target.url}/interactions`,
    });
    return relay.url;
  }

  const post = (url: string, body: string, headers: Record<string, string>) =>
    fetch(`${url}/discord/interactions`, { method: 'POST', headers, body });

  it("a signed slash command reaches the bot byte for byte with the bot's token; the bot's answer goes back", async () => {
    const url = await start();
    const headers = signed(COMMAND);
    const { 'x-signature-ed25519': signature, 'x-signature-timestamp': ts } = headers;
    expect(await verifyKey(COMMAND, signature!, ts!, PUBLIC_KEY)).toBe(true);
    const res = await post(url, COMMAND, headers);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(ANSWER);
    expect(target!.received).toHaveLength(1);
    const got = target!.received[0]!;
    expect(got.url).toBe('/interactions');
    expect(got.body.equals(Buffer.from(COMMAND))).toBe(true);
    expect(got.headers.authorization).toBe(`Bearer ${BOT_TOKEN}`);
  });

  it('the signed PING is answered {"type":1} and not forwarded', async () => {
    const url = await start();
    const res = await post(url, PING, signed(PING));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ type: 1 });
    expect(target!.received).toHaveLength(0);
  });

  it('a bad signature is 401, PING or not, and nothing is forwarded', async () => {
    const url = await start();
    const other = generateKeyPairSync('ed25519').privateKey;
    expect((await post(url, COMMAND, signed(COMMAND, other))).status).toBe(401);
    expect((await post(url, PING, signed(PING, other))).status).toBe(401);
    // A genuine signature, of another body.
    expect((await post(url, COMMAND, signed(PING))).status).toBe(401);
    expect(target!.received).toHaveLength(0);
  });
});

describe('sendgrid-events', () => {
  const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  // Base64 DER SubjectPublicKeyInfo, as SendGrid's console shows the verification key.
  const PUBLIC_KEY = keys.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
  const API_KEY = 'internal-events-api-k3y';
  // SendGrid posts a JSON array followed by \r\n, and signs exactly those bytes.
  const BATCH =
    '[{"email":"ada@example.com","event":"delivered","sg_event_id":"ZGVsaXZlcmVkLTAtMjQ","timestamp":1600112492},{"email":"ada@example.com","event":"open","sg_event_id":"b3Blbi0wLTI0","timestamp":1600112530}]\r\n';

  /** SendGrid's signing: ECDSA P-256 / SHA-256 over `{timestamp}{body}`, DER in base64. */
  function signed(body: string, privateKey: KeyObject = keys.privateKey): Record<string, string> {
    const ts = timestamp();
    return {
      'content-type': 'application/json',
      'x-twilio-email-event-webhook-signature': sign('sha256', Buffer.from(ts + body), privateKey).toString(
        'base64',
      ),
      'x-twilio-email-event-webhook-timestamp': ts,
    };
  }

  async function start() {
    target = await startTarget((_req, res) => {
      res.statusCode = 204;
      res.end();
    });
    relay = await startRelay(source('sendgrid-events'), {
      SENDGRID_WEBHOOK_PUBLIC_KEY: PUBLIC_KEY,
      EVENTS_API_KEY: API_KEY,
      EVENTS_API_URL: target.url,
      QUEUE_PATH: join(dir, `queue-${Date.now()}.db`),
    });
    return relay.url;
  }

  const post = (url: string, body: string, headers: Record<string, string>) =>
    fetch(`${url}/sendgrid/events`, { method: 'POST', headers, body });

  it("a signed batch is stored, answered 202 and delivered byte for byte with the API's key; a resend is refused", async () => {
    const url = await start();
    const headers = signed(BATCH);
    const webhook = new EventWebhook();
    expect(
      webhook.verifySignature(
        webhook.convertPublicKeyToECDSA(PUBLIC_KEY),
        BATCH,
        headers['x-twilio-email-event-webhook-signature']!,
        headers['x-twilio-email-event-webhook-timestamp']!,
      ),
    ).toBe(true);
    expect((await post(url, BATCH, headers)).status).toBe(202);
    await until(() => target!.received.length >= 1);
    const got = target!.received[0]!;
    expect(got.url).toBe('/v1/email-events');
    expect(got.body.equals(Buffer.from(BATCH))).toBe(true);
    expect(got.headers['x-api-key']).toBe(API_KEY);
    // replayWindow: the same signed post a second time.
    expect((await post(url, BATCH, headers)).status).toBe(401);
    expect(JSON.stringify(relay!.logs)).not.toContain(API_KEY);
  });

  it('a bad signature is 401 and nothing is stored or delivered', async () => {
    const url = await start();
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    expect((await post(url, BATCH, signed(BATCH, other))).status).toBe(401);
    // A genuine signature, the body re-encoded on the way.
    expect((await post(url, BATCH.trimEnd(), signed(BATCH))).status).toBe(401);
    await new Promise((r) => setTimeout(r, 200));
    expect(target!.received).toHaveLength(0);
  });
});

describe('the `# Check:` line of each example runs its `tests:` cases, and they pass', () => {
  it.each(['discord-interactions', 'sendgrid-events'])('%s', async (name) => {
    const file = `config/examples/${name}.yaml`;
    const { env, args } = documentedCommand({ file, source: source(name) } as never, 'Check');
    const result = await runCli(args, env);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^\d+ passed, 0 failed$/m);
    expect(result.code).toBe(0);
  });
});
