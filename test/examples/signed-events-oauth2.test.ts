import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startTokenServer, type TokenServer } from '../auth/token-server.ts';
import { type Relay, startRelay, startTarget, type Target } from '../helpers.ts';
import { cli, documentedCommand, example } from './support.ts';

/** config/examples/signed-events-oauth2.yaml: async delivery with an OAuth2 token and Standard Webhooks signatures. */
const ex = example('signed-events-oauth2');
const dir = mkdtempSync(join(tmpdir(), 'hookrelay-example-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SECRETS = {
  BILLING_API_KEY: 'billing-key-1',
  OAUTH_CLIENT_SECRET: 'partner-client-s3cret',
  EVENTS_SIGNING_SECRET: `whsec_${Buffer.from('partner-events-signing-key-0001').toString('base64')}`,
};

describe('signed-events-oauth2', () => {
  let tokens: TokenServer;
  let target: Target;
  let relay: Relay;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
    await tokens?.close();
  });

  /** The partner API: verifies the signature with the standardwebhooks library and wants the latest token. */
  async function start() {
    tokens = await startTokenServer({
      clientId: 'hookrelay-billing',
      clientSecret: SECRETS.OAUTH_CLIENT_SECRET,
    });
    target = await startTarget((req, res) => {
      try {
        new Webhook(SECRETS.EVENTS_SIGNING_SECRET).verify(req.body, req.headers as Record<string, string>);
      } catch {
        res.statusCode = 400;
        res.end('bad signature');
        return;
      }
      res.statusCode = req.headers.authorization === `Bearer ${tokens.issued.at(-1)}` ? 200 : 401;
      res.end();
    });
    relay = await startRelay(ex.source, {
      ...SECRETS,
      OAUTH_TOKEN_URL: tokens.url,
      EVENTS_URL: target.url,
      QUEUE_PATH: join(dir, `queue-${Date.now()}.db`),
    });
  }

  const post = (key = SECRETS.BILLING_API_KEY) =>
    fetch(`${relay.url}/billing/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-billing-key': key },
      body: ex.fixture('request.json'),
    });

  async function delivered(count: number): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (relay.logs.filter((l) => l.msg === 'delivered').length < count) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} deliveries`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('accepts at once, then delivers signed with the delivery id and one shared token, refreshed on 401', async () => {
    await start();
    const first = await post();
    expect(first.status).toBe(202);
    const { deliveryId } = (await first.json()) as { deliveryId: string };
    await delivered(1);
    const got = target.received[0]!;
    expect(got.url).toBe('/v1/events');
    expect(JSON.parse(got.body.toString())).toEqual(ex.expected);
    expect(got.headers['webhook-id']).toBe(deliveryId);
    expect(got.headers.authorization).toBe('Bearer tok-1');
    expect(got.headers['x-billing-key']).toBeUndefined();
    expect(tokens.requests).toHaveLength(1);
    expect(tokens.requests[0]!.client).toMatchObject({ via: 'basic', id: 'hookrelay-billing' });
    expect(Object.fromEntries(tokens.requests[0]!.form)).toEqual({
      grant_type: 'client_credentials',
      scope: 'events:write',
      audience: 'https://events.partner.example.com',
    });

    expect((await post()).status).toBe(202);
    await delivered(2);
    expect(tokens.requests).toHaveLength(1); // the cached token

    tokens.issued.push('tok-revoker'); // the partner revokes tok-1 early
    expect((await post()).status).toBe(202);
    await delivered(3);
    expect(target.received.slice(2).map((r) => r.headers.authorization)).toEqual([
      'Bearer tok-1',
      'Bearer tok-3',
    ]);
    for (const secret of Object.values(SECRETS)) expect(JSON.stringify(relay.logs)).not.toContain(secret);
  });

  it('a caller without the billing key gets 401 and nothing is stored or sent', async () => {
    await start();
    expect((await post('not-the-billing-key')).status).toBe(401);
    expect(target.received).toHaveLength(0);
    expect(tokens.requests).toHaveLength(0);
  });

  it('`# Check:` runs the test declared in the file, and it passes', async () => {
    const { env, args } = documentedCommand(ex, 'Check');
    const result = await cli(args, env);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('1 passed, 0 failed');
    expect(result.code).toBe(0);
  });

  it('`# Try:` shows the token and signature redacted, contacting nothing', async () => {
    const { env, args } = documentedCommand(ex, 'Try');
    const result = await cli(args, env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^authorization: Bearer <redacted>$/m);
    expect(result.stdout).toMatch(/^webhook-signature: <redacted>$/m);
    expect(result.stdout).toMatch(/^webhook-id: try-/m);
    expect(result.stdout).not.toMatch(/x-billing-key/i);
    expect(result.stdout).not.toContain(env.EVENTS_SIGNING_SECRET!);
  });
});
