import { afterEach, describe, expect, it } from 'vitest';
import { oauth2Auth } from '../../src/auth/oauth2.ts';
import { TokenSources } from '../../src/auth/token-cache.ts';
import { HookrelayError } from '../../src/core/errors.ts';
import type { OutboundRequest } from '../../src/core/message.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';
import { refusedPort, sample } from '../helpers.ts';
import { startTokenServer, type TokenServer } from './token-server.ts';

/** The oauth2 plugin against a real local token endpoint, with the cache clock in the test's hands. */
describe('oauth2 client credentials', () => {
  let server: TokenServer;
  afterEach(async () => {
    await server?.close();
  });

  const request = (): OutboundRequest => ({
    method: 'POST',
    url: new URL('https://target.example/hook'),
    headers: {},
    body: Buffer.from('{}'),
  });

  function create(config: Record<string, unknown>, clock = { now: 0 }, tokens?: TokenSources) {
    const parsed = oauth2Auth.schema.parse({
      type: 'oauth2',
      tokenUrl: server.url,
      clientId: 'relay-client',
      clientSecret: 'client-secret-value',
      ...config,
    });
    return oauth2Auth.create(parsed, { now: () => clock.now, ...(tokens ? { tokens } : {}) });
  }

  async function authorization(auth: ReturnType<typeof create>, context?: Parameters<typeof auth.apply>[1]) {
    const r = request();
    await auth.apply(r, context);
    return r.headers.authorization;
  }

  it('sends a client credentials grant with client_secret_basic by default (RFC 6749 §2.3.1 encoding)', async () => {
    // Characters that form-encoding changes: a naive base64(id:secret) would not decode to these.
    server = await startTokenServer({ clientId: 'relay client:1', clientSecret: 'sé cret+/=&%' });
    const auth = create({
      clientId: 'relay client:1',
      clientSecret: 'sé cret+/=&%',
      scope: ['orders:write', 'orders:read'],
      audience: 'https://api.example.com',
      params: { resource: 'https://api.example.com/v2' },
    });
    expect(await authorization(auth)).toBe('Bearer tok-1');
    const [seen] = server.requests;
    expect(seen).toMatchObject({
      method: 'POST',
      path: '/oauth/token',
      contentType: 'application/x-www-form-urlencoded',
      client: { via: 'basic', id: 'relay client:1', secret: 'sé cret+/=&%' },
    });
    expect(Object.fromEntries(seen!.form)).toEqual({
      grant_type: 'client_credentials',
      scope: 'orders:write orders:read',
      audience: 'https://api.example.com',
      resource: 'https://api.example.com/v2',
    });
  });

  it('clientAuth: body sends client_id and client_secret in the form (client_secret_post), no Authorization', async () => {
    server = await startTokenServer();
    const auth = create({ clientAuth: 'body', scope: 'orders:write' });
    expect(await authorization(auth)).toBe('Bearer tok-1');
    expect(server.requests[0]!.client).toEqual({
      via: 'body',
      id: 'relay-client',
      secret: 'client-secret-value',
    });
    expect(server.requests[0]!.form.get('scope')).toBe('orders:write');
  });

  it('N sequential requests fetch the token once', async () => {
    server = await startTokenServer();
    const auth = create({});
    for (let i = 0; i < 20; i++) expect(await authorization(auth)).toBe('Bearer tok-1');
    expect(server.requests).toHaveLength(1);
  });

  it('50 concurrent requests share one token fetch (single flight)', async () => {
    server = await startTokenServer();
    const auth = create({});
    const values = await Promise.all(Array.from({ length: 50 }, () => authorization(auth)));
    expect(new Set(values)).toEqual(new Set(['Bearer tok-1']));
    expect(server.requests).toHaveLength(1);
  });

  it('refetches shortly before expires_in: refreshBefore (30s) ahead of expiry', async () => {
    server = await startTokenServer({ expiresIn: 3600 });
    const clock = { now: 1_000_000 };
    const auth = create({}, clock);
    expect(await authorization(auth)).toBe('Bearer tok-1');
    clock.now += 3_570_000 - 1; // 1 ms before the refresh margin starts
    expect(await authorization(auth)).toBe('Bearer tok-1');
    expect(server.requests).toHaveLength(1);
    clock.now += 1; // 30 s before expiry: replaced
    expect(await authorization(auth)).toBe('Bearer tok-2');
    expect(server.requests).toHaveLength(2);
  });

  it('a short-lived token is used for at least half its lifetime', async () => {
    server = await startTokenServer({ expiresIn: 20 });
    const clock = { now: 0 };
    const auth = create({}, clock);
    await authorization(auth);
    clock.now = 9_999;
    expect(await authorization(auth)).toBe('Bearer tok-1');
    clock.now = 10_000;
    expect(await authorization(auth)).toBe('Bearer tok-2');
  });

  it('without expires_in the token lives defaultLifetime (minus the margin)', async () => {
    server = await startTokenServer({ expiresIn: undefined });
    const clock = { now: 0 };
    const auth = create({ defaultLifetime: '2m', refreshBefore: '10s' }, clock);
    await authorization(auth);
    clock.now = 109_999;
    expect(await authorization(auth)).toBe('Bearer tok-1');
    clock.now = 110_000;
    expect(await authorization(auth)).toBe('Bearer tok-2');
  });

  it('onUnauthorized drops the refused token once, however many requests were refused with it', async () => {
    server = await startTokenServer();
    const auth = create({});
    const sent = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const r = request();
        await auth.apply(r);
        return r;
      }),
    );
    for (const r of sent) expect(await auth.onUnauthorized!(r)).toBe(true);
    const after = await Promise.all(Array.from({ length: 10 }, () => authorization(auth)));
    expect(new Set(after)).toEqual(new Set(['Bearer tok-2']));
    expect(server.requests).toHaveLength(2);
    // A late 401 for the old token does not throw away the new one.
    await auth.onUnauthorized!(sent[0]!);
    expect(await authorization(auth)).toBe('Bearer tok-2');
    expect(server.requests).toHaveLength(2);
  });

  it('routes with the same endpoint, client, scope and audience share one token; another scope gets its own', async () => {
    server = await startTokenServer();
    const tokens = new TokenSources();
    const a = create({ scope: 'orders' }, undefined, tokens);
    const b = create({ scope: 'orders' }, undefined, tokens);
    const c = create({ scope: 'invoices' }, undefined, tokens);
    expect(await authorization(a)).toBe('Bearer tok-1');
    expect(await authorization(b)).toBe('Bearer tok-1');
    expect(await authorization(c)).toBe('Bearer tok-2');
    expect(server.requests).toHaveLength(2);
    expect(tokens.size).toBe(2);
  });

  it('preview sets a placeholder without contacting the token endpoint', async () => {
    server = await startTokenServer();
    const r = request();
    create({}).preview!(r);
    expect(r.headers.authorization).toMatch(/^Bearer </);
    expect(server.requests).toHaveLength(0);
  });

  async function failure(
    auth: ReturnType<typeof create>,
    metrics = createMetrics({ version: 't', defaultMetrics: false }),
  ) {
    const error = await authorization(auth, { routeId: 'r1', metrics }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HookrelayError);
    const e = error as HookrelayError;
    expect(e).toMatchObject({ code: 'HOOKRELAY_ERR_AUTH_TOKEN', status: 502, retryable: true });
    expect(e.message).not.toContain('client-secret-value');
    return { error: e, metrics: await metrics.registry.metrics() };
  }

  it('a non-2xx answer fails with HOOKRELAY_ERR_AUTH_TOKEN quoting the status and error code only', async () => {
    server = await startTokenServer();
    const auth = create({ clientSecret: 'wrong-secret-value' });
    const { error, metrics } = await failure(auth);
    expect(error.message).toBe(
      'could not obtain an OAuth2 access token: token endpoint answered 401 (invalid_client)',
    );
    expect(error.message).not.toContain('wrong-secret-value');
    expect(error.message).not.toContain('bad client credentials');
    expect(
      sample(metrics, 'hookrelay_auth_token_requests_total', { route: 'r1', outcome: 'http_error' }),
    ).toBe(1);
  });

  it('an answer without access_token, or with another token type, is refused', async () => {
    server = await startTokenServer();
    server.handle((_seen, res) => res.end('{"token_type":"Bearer","expires_in":60}'));
    const { error, metrics } = await failure(create({}));
    expect(error.message).toMatch(/answered 200 without a usable access_token$/);
    expect(sample(metrics, 'hookrelay_auth_token_requests_total', { outcome: 'invalid_response' })).toBe(1);
    server.handle((_seen, res) => res.end('{"access_token":"mac-token-secret","token_type":"mac"}'));
    const second = await failure(create({}));
    expect(second.error.message).toMatch(/issued a token of type 'mac', not Bearer$/);
    expect(second.error.message).not.toContain('mac-token-secret');
    server.handle((_seen, res) => res.end('<html>login</html>'));
    expect((await failure(create({}))).error.message).toMatch(/answered 200 without a JSON body$/);
  });

  it('an unreachable endpoint fails with a network reason; a failed fetch is not cached', async () => {
    const port = await refusedPort();
    server = await startTokenServer();
    const parsed = oauth2Auth.schema.parse({
      type: 'oauth2',
      tokenUrl: `http://127.0.0.1:${port}/token`,
      clientId: 'relay-client',
      clientSecret: 'client-secret-value',
    });
    const auth = oauth2Auth.create(parsed, {});
    const metrics = createMetrics({ version: 't', defaultMetrics: false });
    const { error } = await failure(auth as ReturnType<typeof create>, metrics);
    expect(error.message).toBe(
      'could not obtain an OAuth2 access token: token endpoint unreachable (ECONNREFUSED)',
    );
    await failure(auth as ReturnType<typeof create>, metrics);
    const text = await metrics.registry.metrics();
    expect(sample(text, 'hookrelay_auth_token_requests_total', { outcome: 'network_error' })).toBe(2);
  });

  it('a token endpoint slower than `timeout` fails with a timeout', async () => {
    server = await startTokenServer();
    server.handle(() => {
      // never answers
    });
    const { error, metrics } = await failure(create({ timeout: 50 }));
    expect(error.message).toBe(
      'could not obtain an OAuth2 access token: token endpoint gave no answer within 50 ms',
    );
    expect(sample(metrics, 'hookrelay_auth_token_requests_total', { outcome: 'timeout' })).toBe(1);
  });

  it('config: tokenUrl must be http(s) without credentials; params may not override the grant', () => {
    const base = { type: 'oauth2', clientId: 'c', clientSecret: 's' };
    expect(oauth2Auth.schema.safeParse({ ...base, tokenUrl: 'ftp://x/token' }).success).toBe(false);
    expect(oauth2Auth.schema.safeParse({ ...base, tokenUrl: 'https://u:p@x/token' }).success).toBe(false);
    const reserved = oauth2Auth.schema.safeParse({
      ...base,
      tokenUrl: 'https://x/token',
      params: { grant_type: 'password' },
    });
    expect(reserved.success).toBe(false);
    expect(reserved.error?.issues[0]).toMatchObject({ path: ['params', 'grant_type'] });
  });
});
