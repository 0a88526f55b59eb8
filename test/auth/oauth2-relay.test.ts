import { afterEach, describe, expect, it } from 'vitest';
import type { ErrorBody } from '../../src/pipeline/reply.ts';
import { type Relay, sample, startRelay, startTarget, type Target } from '../helpers.ts';
import { startTokenServer, type TokenServer } from './token-server.ts';

/** OAuth2 credentials through a real relay: sync, async, refresh on 401, token endpoint failures. */
describe('oauth2 through the relay', () => {
  let tokens: TokenServer;
  let target: Target;
  let relay: Relay;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
    await tokens?.close();
  });

  const SECRET = 'client-secret-value';

  /** A target that accepts only the token issued last, like an API after the old one was revoked. */
  const latestTokenOnly = () =>
    startTarget((req, res) => {
      const latest = tokens.issued.at(-1);
      res.statusCode = req.headers.authorization === `Bearer ${latest}` ? 200 : 401;
      res.end(res.statusCode === 200 ? '{"ok":true}' : '{"error":"invalid_token"}');
    });

  async function setup(options: { route?: string; tokenUrl?: string; routes?: string } = {}) {
    const auth = `{ type: oauth2, tokenUrl: "${options.tokenUrl ?? tokens.url}", clientId: relay-client, clientSecret: "\${SECRET}", scope: [orders:write] }`;
    relay = await startRelay(
      `
queue: { driver: memory }
admin: { enabled: false }
routes:
  - id: o1
    path: /in/o1
${
  // A queued route backs off with its queue settings; the others with retry.
  options.route?.includes('delivery: async')
    ? '    queue: { minDelay: 10ms, maxDelay: 20ms }'
    : '    retry: { attempts: 2, minDelay: 10ms, maxDelay: 20ms }'
}
${options.route ?? ''}
    forward:
      url: ${target.url}/hook
      auth: ${auth}
${options.routes?.replaceAll('AUTH', auth) ?? ''}`,
      { SECRET },
    );
  }

  const post = (path = '/in/o1') =>
    fetch(`${relay.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"n":1}',
    });

  async function until(check: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  const metrics = async () => (await fetch(`${relay.url}/metrics`)).text();

  it('sync: the target gets the bearer token; 50 concurrent requests cause one token fetch', async () => {
    tokens = await startTokenServer();
    target = await startTarget();
    await setup();
    const answers = await Promise.all(Array.from({ length: 50 }, () => post()));
    expect(answers.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(target.received).toHaveLength(50);
    expect(new Set(target.received.map((r) => r.headers.authorization))).toEqual(new Set(['Bearer tok-1']));
    expect(tokens.requests).toHaveLength(1);
    expect(tokens.requests[0]!.form.get('scope')).toBe('orders:write');
    const text = await metrics();
    expect(sample(text, 'hookrelay_auth_token_requests_total', { route: 'o1', outcome: 'success' })).toBe(1);
    expect(JSON.stringify(relay.logs)).not.toMatch(/tok-1|client-secret-value/);
  });

  it('sync: a 401 to a revoked token fetches a new one and repeats the attempt once, not counted as a retry', async () => {
    tokens = await startTokenServer();
    target = await latestTokenOnly();
    await setup();
    expect((await post()).status).toBe(200);
    tokens.issued.push('tok-revoker'); // the API now accepts only a newer token
    const res = await post();
    expect(res.status).toBe(200);
    expect(target.received.map((r) => r.headers.authorization)).toEqual([
      'Bearer tok-1',
      'Bearer tok-1',
      'Bearer tok-3',
    ]);
    expect(tokens.requests).toHaveLength(2);
    const line = relay.logs.filter((l) => l.msg === 'request').at(-1);
    expect(line).toMatchObject({ status: 200, attempts: 1 });
    const text = await metrics();
    expect(sample(text, 'hookrelay_auth_unauthorized_retries_total', { route: 'o1' })).toBe(1);
    expect(sample(text, 'hookrelay_forward_retries_total', { route: 'o1' })).toBe(0);
  });

  it('sync: a second 401 with the fresh token is the answer', async () => {
    tokens = await startTokenServer();
    target = await startTarget((_req, res) => {
      res.statusCode = 401;
      res.end('{"error":"forbidden client"}');
    });
    await setup();
    const res = await post();
    expect(res.status).toBe(401);
    expect(await res.text()).toBe('{"error":"forbidden client"}');
    expect(target.received.map((r) => r.headers.authorization)).toEqual(['Bearer tok-1', 'Bearer tok-2']);
    expect(tokens.requests).toHaveLength(2);
  });

  it('sync: a failing token endpoint answers 502 HOOKRELAY_ERR_AUTH_TOKEN, retried by the policy, nothing sent', async () => {
    tokens = await startTokenServer();
    tokens.handle((_seen, res) => {
      res.statusCode = 503;
      res.end('{"error":"temporarily_unavailable"}');
    });
    target = await startTarget();
    await setup();
    const res = await post();
    expect(res.status).toBe(502);
    const body = (await res.json()) as ErrorBody;
    expect(body).toMatchObject({
      error: 'HOOKRELAY_ERR_AUTH_TOKEN',
      message:
        'could not obtain an OAuth2 access token: token endpoint answered 503 (temporarily_unavailable)',
      route: 'o1',
    });
    expect(target.received).toHaveLength(0);
    expect(tokens.requests).toHaveLength(2); // attempts: 2
    const text = await metrics();
    expect(sample(text, 'hookrelay_auth_token_requests_total', { route: 'o1', outcome: 'http_error' })).toBe(
      2,
    );
    expect(sample(text, 'hookrelay_errors_total', { route: 'o1', code: 'HOOKRELAY_ERR_AUTH_TOKEN' })).toBe(1);
    expect(JSON.stringify(relay.logs)).not.toContain(SECRET);
    expect(JSON.stringify(body)).not.toContain(SECRET);
  });

  it('sync: a token endpoint that hangs does not hold the caller past the route deadline (504)', async () => {
    tokens = await startTokenServer();
    tokens.handle(() => {
      // never answers; the token request's own timeout (10 s) is far beyond the deadline
    });
    target = await startTarget();
    await setup({ route: '    timeouts: { deadline: 300ms }' });
    const res = await post();
    expect(res.status).toBe(504);
    expect((await res.json()) as ErrorBody).toMatchObject({
      error: 'HOOKRELAY_ERR_DEADLINE',
      message: expect.stringMatching(/no token before the attempt deadline$/),
    });
    expect(target.received).toHaveLength(0);
  });

  it('routes with the same client and scope share the token', async () => {
    tokens = await startTokenServer();
    target = await startTarget();
    await setup({
      routes: `  - id: o2
    path: /in/o2
    forward:
      url: ${target.url}/other
      auth: AUTH`,
    });
    expect((await post('/in/o1')).status).toBe(200);
    expect((await post('/in/o2')).status).toBe(200);
    expect(target.received.map((r) => r.headers.authorization)).toEqual(['Bearer tok-1', 'Bearer tok-1']);
    expect(tokens.requests).toHaveLength(1);
  });

  it('async: delivered with the token, refreshed on 401 within the same attempt', async () => {
    tokens = await startTokenServer();
    target = await latestTokenOnly();
    await setup({ route: '    delivery: async' });
    expect((await post()).status).toBe(202);
    await until(() => target.received.length === 1, 'the first delivery');
    tokens.issued.push('tok-revoker');
    const res = await post();
    expect(res.status).toBe(202);
    const { deliveryId } = (await res.json()) as { deliveryId: string };
    await until(() => target.received.length === 3, 'the refreshed delivery');
    expect(target.received.map((r) => r.headers.authorization)).toEqual([
      'Bearer tok-1',
      'Bearer tok-1',
      'Bearer tok-3',
    ]);
    // Both exchanges of the second delivery carry its id: one attempt, repeated with a fresh token.
    expect(target.received.slice(1).map((r) => r.headers['idempotency-key'])).toEqual([
      deliveryId,
      deliveryId,
    ]);
    await until(
      () => relay.logs.some((l) => l.msg === 'delivered' && l.deliveryId === deliveryId),
      'the ack',
    );
    expect(relay.logs.find((l) => l.msg === 'delivered' && l.deliveryId === deliveryId)).toMatchObject({
      attempt: 1,
    });
  });

  it('async: a token endpoint failure is retried by the queue until it recovers', async () => {
    tokens = await startTokenServer();
    tokens.handle((_seen, res) => {
      res.statusCode = 500;
      res.end();
    });
    target = await startTarget();
    await setup({ route: '    delivery: async' });
    expect((await post()).status).toBe(202);
    await until(() => tokens.requests.length >= 2, 'two token attempts');
    const retry = relay.logs.find((l) => l.msg === 'attempt failed, will retry');
    expect(retry).toMatchObject({
      error: 'could not obtain an OAuth2 access token: token endpoint answered 500',
    });
    expect(target.received).toHaveLength(0);
    tokens.handle(undefined);
    await until(() => target.received.length === 1, 'the delivery after recovery');
    expect(target.received[0]!.headers.authorization).toBe('Bearer tok-1');
    expect(JSON.stringify(relay.logs)).not.toContain(SECRET);
  });
});
