import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTokenServer, type TokenServer } from '../auth/token-server.ts';
import { type Relay, refusedPort, sample, startRelay, startTarget, type Target } from '../helpers.ts';
import { identityApi } from './support.ts';

/** The onePortal flow end to end: identity API, OAuth2 token endpoint and CRM as real servers. */

let identity: Target;
let crm: Target;
let tokens: TokenServer;
let relay: Relay;
let refused: number;

const SECRET = 'client-secret-value';

function route(id: string, url: string, extra = ''): string {
  return `
  - id: ${id}
    path: /${id}
    forward:
      url: ${crm.url}/contacts
      method: PATCH
    transform:
      - type: fetch
        url: ${url}
        into: user
        timeout: 300ms
        retry: { attempts: 2, minDelay: 10ms, maxDelay: 20ms }
        auth:
          type: oauth2
          tokenUrl: ${tokens.url}
          clientId: relay-client
          clientSecret: \${CLIENT_SECRET}
${extra}
      - type: map
        fields:
          externalId: id
          email: { from: user.email, required: true }
          name: user.displayName`;
}

beforeAll(async () => {
  identity = await identityApi();
  crm = await startTarget();
  tokens = await startTokenServer();
  refused = await refusedPort();
  const answers = `        answers:
          '404':
            status: 404
            body: '{"error":"unknown user {{ body.id }}","detail":"{{ body.user.message }}"}'`;
  relay = await startRelay(
    `routes:${[
      route('oneportal', `${identity.url}/users/{body.id}`, answers),
      route('unreachable', `http://127.0.0.1:${refused}/users/{body.id}`),
      route('slow', `${identity.url}/slow/{body.id}`),
      route('big', `${identity.url}/big/{body.id}`, '        maxResponse: 1kb'),
      route('bad', `${identity.url}/bad/{body.id}`),
      route('flaky', `${identity.url}/flaky/{body.id}`),
      route('plain', `${identity.url}/users/{body.id}`),
    ].join('')}
  - id: xml
    path: /xml
    forward: { url: ${crm.url}/contacts, method: PATCH }
    transform:
      - type: fetch
        url: ${identity.url}/xml/{body.id}?tenant={query.tenant}
        into: user
      - type: map
        fields: { email: user.user.email, uid: user.user.@id }
`,
    { CLIENT_SECRET: SECRET },
  );
});

afterAll(async () => {
  await relay.close();
  await Promise.all([identity.close(), crm.close(), tokens.close()]);
});

async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${relay.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: JSON.parse(text) as Record<string, unknown> };
}

const EVENT = { id: 'IDNUMBER1234', entityType: 'USER', eventType: 'UPDATE' };

describe('fetch: the onePortal flow', () => {
  it('enriches the event with the user, maps it, PATCHes the CRM and answers 200', async () => {
    const before = crm.received.length;
    const answer = await post('/oneportal', EVENT);
    expect(answer.status).toBe(200);
    const lookup = identity.received.find((r) => r.url === '/users/IDNUMBER1234')!;
    expect(lookup.method).toBe('GET');
    expect(lookup.headers.authorization).toBe('Bearer tok-1');
    const patched = crm.received[before]!;
    expect(patched.method).toBe('PATCH');
    expect(patched.url).toBe('/contacts');
    expect(JSON.parse(patched.body.toString())).toEqual({
      externalId: 'IDNUMBER1234',
      email: 'ada@example.com',
      name: 'Ada Lovelace',
    });
  });

  it('reuses the OAuth2 token for the next lookups', async () => {
    await post('/oneportal', EVENT);
    await post('/oneportal', EVENT);
    expect(tokens.issued).toEqual(['tok-1']);
  });

  it("answers a lookup 404 with the configured answer, quoting the identity API's message; nothing is forwarded", async () => {
    const before = crm.received.length;
    const answer = await post('/oneportal', { id: 'NOBODY', entityType: 'USER' });
    expect(answer.status).toBe(404);
    expect(answer.json).toEqual({ error: 'unknown user NOBODY', detail: 'user NOBODY does not exist' });
    expect(crm.received.length).toBe(before);
    const line = relay.logs.find((l) => l.msg === 'request' && l.status === 404);
    expect(line).toMatchObject({ route: 'oneportal', step: 'transform[0] (fetch)', lookupStatus: 404 });
  });

  it('a lookup 404 without an `answers` entry is 502 HOOKRELAY_ERR_FETCH_STATUS with the status', async () => {
    const answer = await post('/plain', { id: 'NOBODY' });
    expect(answer.status).toBe(502);
    expect(answer.json.error).toBe('HOOKRELAY_ERR_FETCH_STATUS');
    expect(answer.json.message).toContain('answered 404');
  });
});

describe('fetch: failures have their own codes and forward nothing', () => {
  const cases: [string, unknown, number, string][] = [
    ['/unreachable', EVENT, 502, 'HOOKRELAY_ERR_FETCH_UNREACHABLE'],
    ['/slow', EVENT, 504, 'HOOKRELAY_ERR_FETCH_TIMEOUT'],
    ['/big', EVENT, 502, 'HOOKRELAY_ERR_FETCH_TOO_LARGE'],
    ['/bad', EVENT, 502, 'HOOKRELAY_ERR_FETCH_MALFORMED'],
    ['/oneportal', { entityType: 'USER' }, 422, 'HOOKRELAY_ERR_FETCH_MISSING_VALUE'],
    ['/oneportal', { id: '..' }, 400, 'HOOKRELAY_ERR_INVALID_PARAMETER'],
    ['/oneportal', [1, 2], 422, 'HOOKRELAY_ERR_TRANSFORM_FAILED'],
  ];
  it.each(cases)('%s %j → %i %s', async (path, body, status, code) => {
    const before = crm.received.length;
    const seen = identity.received.length;
    const answer = await post(path, body);
    expect(answer.status).toBe(status);
    expect(answer.json.error).toBe(code);
    expect(crm.received.length).toBe(before);
    if (code.includes('MISSING') || code.includes('PARAMETER')) expect(identity.received.length).toBe(seen);
    const line = relay.logs.findLast((l) => l.msg === 'request');
    expect(line).toMatchObject({ code, status });
  });

  it('logs a failed fetch at warn with the URL template, never the lookup URL', async () => {
    const warn = relay.logs.find((l) => l.msg === 'fetch failed' && l.route === 'unreachable');
    expect(warn).toMatchObject({
      level: 'warn',
      outcome: 'unreachable',
      code: 'HOOKRELAY_ERR_FETCH_UNREACHABLE',
      lookup: `http://127.0.0.1:${refused}/users/{body.id}`,
    });
  });

  it('retries a 503 and goes on with the answer', async () => {
    const before = crm.received.length;
    const answer = await post('/flaky', EVENT);
    expect(answer.status).toBe(200);
    expect(JSON.parse(crm.received[before]!.body.toString()).email).toBe('flaky@example.com');
    expect(identity.received.filter((r) => r.url.startsWith('/flaky/')).length).toBe(2);
  });

  it('reads an XML answer with the xml convention', async () => {
    const before = crm.received.length;
    const res = await fetch(`${relay.url}/xml?tenant=a%26b`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'g/7' }),
    });
    // A slash in a path value is refused; the query value is encoded.
    expect(res.status).toBe(400);
    const ok = await fetch(`${relay.url}/xml?tenant=a%26b`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'g7' }),
    });
    expect(ok.status).toBe(200);
    expect(identity.received.at(-1)!.url).toBe('/xml/g7?tenant=a%26b');
    expect(JSON.parse(crm.received[before]!.body.toString())).toEqual({
      email: 'grace@example.com',
      uid: '7',
    });
  });

  it('never logs the client secret or the token', () => {
    const text = JSON.stringify(relay.logs);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('tok-1');
  });

  it('counts lookups by route, step and outcome, and times them', async () => {
    const text = await (await fetch(`${relay.url}/metrics`)).text();
    const count = (route: string, outcome: string) =>
      sample(text, 'hookrelay_fetch_requests_total', { route, step: '0-fetch', outcome });
    expect(count('oneportal', 'ok')).toBe(3);
    expect(count('oneportal', 'answered')).toBe(1);
    expect(count('oneportal', 'missing_value')).toBe(1);
    expect(count('unreachable', 'unreachable')).toBe(1);
    expect(count('slow', 'timeout')).toBe(1);
    expect(count('big', 'too_large')).toBe(1);
    expect(count('bad', 'malformed')).toBe(1);
    expect(count('plain', 'status')).toBe(1);
    expect(
      sample(text, 'hookrelay_fetch_duration_seconds_count', { route: 'oneportal', outcome: 'ok' }),
    ).toBe(3);
    expect(text).not.toContain(SECRET);
  });
});
