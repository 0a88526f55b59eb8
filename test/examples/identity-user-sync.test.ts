import { afterEach, describe, expect, it } from 'vitest';
import { startTokenServer, type TokenServer } from '../auth/token-server.ts';
import { type Relay, refusedPort, sample, startRelay, startTarget, type Target } from '../helpers.ts';
import { cli, declaredJson, documentedCommand, example } from './support.ts';

/**
 * config/examples/identity-user-sync.yaml (the onePortal pattern): a thin user event enriched by a
 * lookup in the identity API, mapped to the CRM's contact, PATCHed with OAuth2, and answered 200 or
 * with a message the portal displays.
 */
const ex = example('identity-user-sync');
const KEY = 'portal-key-1';
const IDENTITY_SECRET = 'identity-client-s3cret';
const CRM_SECRET = 'crm-client-s3cret';
const USER = JSON.parse(ex.fixture('user.json').toString('utf8')) as Record<string, unknown>;

describe('identity-user-sync', () => {
  let identity: Target | undefined;
  let crm: Target | undefined;
  let idTokens: TokenServer | undefined;
  let crmTokens: TokenServer | undefined;
  let relay: Relay | undefined;
  afterEach(async () => {
    await relay?.close();
    await Promise.all([identity?.close(), crm?.close(), idTokens?.close(), crmTokens?.close()]);
    relay = identity = crm = idTokens = crmTokens = undefined;
  });

  async function start(
    crmAnswer: (body: Record<string, unknown>) => [number, unknown] = () => [200, { ok: true }],
    identityUrl?: string,
  ) {
    identity = await startTarget((req, res) => {
      const id = decodeURIComponent(req.url.replace(/^\/users\//, ''));
      res.setHeader('content-type', 'application/json');
      if (id !== USER.id) {
        res.statusCode = 404;
        res.end(JSON.stringify({ message: `no user ${id}` }));
        return;
      }
      res.end(JSON.stringify(USER));
    });
    crm = await startTarget((req, res) => {
      const [status, body] = crmAnswer(JSON.parse(req.body.toString('utf8')) as Record<string, unknown>);
      res.statusCode = status;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body));
    });
    idTokens = await startTokenServer({ clientId: 'crm-connector', clientSecret: IDENTITY_SECRET });
    crmTokens = await startTokenServer({ clientId: 'hookrelay', clientSecret: CRM_SECRET });
    relay = await startRelay(ex.source, {
      PORTAL_KEY: KEY,
      IDENTITY_CLIENT_SECRET: IDENTITY_SECRET,
      CRM_CLIENT_SECRET: CRM_SECRET,
      IDENTITY_URL: identityUrl ?? identity.url,
      IDENTITY_TOKEN_URL: idTokens.url,
      CRM_URL: crm.url,
      CRM_TOKEN_URL: crmTokens.url,
    });
    return relay;
  }

  const send = (url: string, body: unknown, key = KEY) =>
    fetch(`${url}/portal/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-portal-key': key, 'x-request-id': 'portal-1' },
      body: JSON.stringify(body),
    });

  it('enriches the event with the user, PATCHes the contact with the CRM token, answers 200', async () => {
    const { url, logs } = await start();
    const res = await send(url, JSON.parse(ex.fixture('request.json').toString('utf8')));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'synced', id: 'IDNUMBER1234' });
    expect(identity!.received).toHaveLength(1);
    expect(identity!.received[0]!.url).toBe('/users/IDNUMBER1234');
    expect(identity!.received[0]!.headers.authorization).toMatch(/^Bearer /);
    expect(crm!.received).toHaveLength(1);
    const patched = crm!.received[0]!;
    expect(patched.method).toBe('PATCH');
    expect(patched.url).toBe('/api/contacts/upsert');
    expect(patched.headers.authorization).toMatch(/^Bearer /);
    // Each system's own token, from its own token endpoint.
    expect(idTokens!.issued).toHaveLength(1);
    expect(crmTokens!.issued).toHaveLength(1);
    expect(patched.headers['x-portal-key']).toBeUndefined();
    expect(JSON.parse(patched.body.toString('utf8'))).toEqual(ex.expected);
    const text = JSON.stringify(logs);
    for (const secret of [KEY, IDENTITY_SECRET, CRM_SECRET]) expect(text).not.toContain(secret);
  });

  it('an unknown user: 404 with a message the portal displays, nothing sent to the CRM', async () => {
    const { url } = await start();
    const res = await send(url, { id: 'NOBODY', entityType: 'USER', eventType: 'UPDATE' });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'user NOBODY is not known to the identity service' });
    expect(crm!.received).toHaveLength(0);
  });

  it("the CRM refuses the contact: the portal gets the CRM's status and its message", async () => {
    const { url } = await start(() => [409, { message: 'a contact with this email already exists' }]);
    const res = await send(url, { id: 'IDNUMBER1234', entityType: 'USER', eventType: 'UPDATE' });
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({ error: 'a contact with this email already exists' });
  });

  it("the relay's own refusals keep their JSON error; other entities are dropped and counted", async () => {
    const { url } = await start();
    const denied = await send(
      url,
      { id: 'IDNUMBER1234', entityType: 'USER', eventType: 'UPDATE' },
      'wrong-key-1',
    );
    expect(denied.status).toBe(401);
    expect(await denied.json()).toMatchObject({ error: 'HOOKRELAY_ERR_UNAUTHORIZED' });
    const group = await send(url, { id: 'G1', entityType: 'GROUP', eventType: 'UPDATE' });
    expect(group.status).toBe(200);
    expect(await group.json()).toMatchObject({ status: 'dropped', rule: 'not-a-user-change' });
    expect(identity!.received).toHaveLength(0);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(
      sample(metrics, 'hookrelay_rule_matches_total', {
        route: 'portal-users',
        rule: 'not-a-user-change',
        action: 'drop',
      }),
    ).toBe(1);
  });

  it('the identity service unreachable: 503 with a message to try again', async () => {
    const port = await refusedPort();
    const { url } = await start(undefined, `http://127.0.0.1:${port}`);
    const res = await send(url, { id: 'IDNUMBER1234', entityType: 'USER', eventType: 'UPDATE' });
    expect(res.status).toBe(503);
    expect((await res.json()) as { error: string }).toEqual({
      error: 'the CRM or the identity service is not reachable: try again later (portal-1)',
    });
    expect(crm!.received).toHaveLength(0);
  });

  it('the fixture and the test case in the YAML expect the same body', () => {
    const env = { PORTAL_KEY: KEY, IDENTITY_CLIENT_SECRET: 'x', CRM_CLIENT_SECRET: 'x' };
    expect(declaredJson(ex, env, "a user update is enriched and mapped to the CRM's contact")).toEqual(
      ex.expected,
    );
  });

  it('`# Check:` runs the tests declared in the file offline, and they pass', async () => {
    const { env, args } = documentedCommand(ex, 'Check');
    const result = await cli(args, env);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^3 passed, 0 failed$/m);
    expect(result.code).toBe(0);
  });

  it('`# Try:` shows the lookup it would make, with its credentials redacted, and stops', async () => {
    const { env, args } = documentedCommand(ex, 'Try');
    const result = await cli(args, env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('GET https://id.example.com/users/IDNUMBER1234');
    expect(result.stdout).toContain('authorization: Bearer <redacted>');
    expect(result.stdout).toContain('--fetch');
  });
});
