import { afterEach, describe, expect, it } from 'vitest';
import { authRegistry } from '../../src/auth/index.ts';
import type { OutboundRequest } from '../../src/core/message.ts';
import { type Relay, startRelay, startTarget, type Target } from '../helpers.ts';

/** Each credential type, configured in YAML, arrives at a real downstream exactly as configured. */
describe('outbound credentials', () => {
  let target: Target;
  let relay: Relay;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
  });

  async function relayWith(auth: string, env: Record<string, string>, extra = ''): Promise<void> {
    target = await startTarget();
    relay = await startRelay(
      `
routes:
  - id: creds
    path: /in/creds
    forward:
      url: ${target.url}/hook?fixed=1
      auth: ${auth}
${extra}`,
      env,
    );
  }

  function post(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${relay.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: '{"n":1}',
    });
  }

  function expectSecretNotLogged(secret: string): void {
    expect(relay.logs.length).toBeGreaterThan(0);
    expect(JSON.stringify(relay.logs)).not.toContain(secret);
  }

  it('basic: Authorization is Basic base64(username:password), replacing the caller one', async () => {
    await relayWith('{ type: basic, username: relay, password: "${PW}" }', { PW: 'pä:ss w0rd' });
    const res = await post('/in/creds', { authorization: 'Bearer callers-own-token' });
    expect(res.status).toBe(200);
    expect(target.received).toHaveLength(1);
    const expected = `Basic ${Buffer.from('relay:pä:ss w0rd', 'utf8').toString('base64')}`;
    expect(target.received[0]!.headers.authorization).toBe(expected);
    expect(JSON.stringify(target.received[0]!.headers)).not.toContain('callers-own-token');
    expectSecretNotLogged('pä:ss w0rd');
  });

  it('bearer: Authorization is exactly "Bearer <token>"', async () => {
    await relayWith('{ type: bearer, token: "${TOKEN}" }', { TOKEN: 'tok-123.abc' });
    const res = await post('/in/creds', { authorization: 'Basic Y2FsbGVyOnNlY3JldA==' });
    expect(res.status).toBe(200);
    expect(target.received[0]!.headers.authorization).toBe('Bearer tok-123.abc');
    expectSecretNotLogged('tok-123.abc');
  });

  it('bearer: replaces the caller Authorization even when passHeaders lists it', async () => {
    await relayWith(
      '{ type: bearer, token: "${TOKEN}" }',
      { TOKEN: 'configured-token' },
      '      passHeaders: [authorization, content-type]',
    );
    // The extra block above is indented under `forward`, after `auth`.
    const res = await post('/in/creds', { authorization: 'Bearer callers-own-token' });
    expect(res.status).toBe(200);
    expect(target.received[0]!.headers.authorization).toBe('Bearer configured-token');
  });

  it('header: any header name carries the exact configured value', async () => {
    await relayWith('{ type: header, name: X-Api-Key, value: "${KEY}" }', { KEY: 'k-9f8e7d' });
    const res = await post('/in/creds', { 'x-api-key': 'caller-supplied-key' });
    expect(res.status).toBe(200);
    const { headers } = target.received[0]!;
    expect(headers['x-api-key']).toBe('k-9f8e7d');
    expect(headers.authorization).toBeUndefined();
    expectSecretNotLogged('k-9f8e7d');
  });

  it('query: the parameter is added next to the URL and caller query', async () => {
    await relayWith('{ type: query, name: api_key, value: "${KEY}" }', { KEY: 'q-secret' });
    const res = await post('/in/creds?event=created');
    expect(res.status).toBe(200);
    const url = new URL(target.received[0]!.url, 'http://x');
    expect(url.pathname).toBe('/hook');
    expect(url.searchParams.getAll('api_key')).toEqual(['q-secret']);
    expect(url.searchParams.get('fixed')).toBe('1');
    expect(url.searchParams.get('event')).toBe('created');
    expect(target.received[0]!.headers.authorization).toBeUndefined();
    expectSecretNotLogged('q-secret');
  });

  it('query: a caller-supplied parameter of the same name is replaced, not duplicated', async () => {
    await relayWith('{ type: query, name: api_key, value: "${KEY}" }', { KEY: 'q-secret' });
    const res = await post('/in/creds?api_key=forged&api_key=again&x=1');
    expect(res.status).toBe(200);
    const url = new URL(target.received[0]!.url, 'http://x');
    expect(url.searchParams.getAll('api_key')).toEqual(['q-secret']);
    expect(url.searchParams.get('x')).toBe('1');
  });

  it('credentials are applied on every attempt, retries included', async () => {
    target = await startTarget((_req, res, i) => {
      res.statusCode = i < 2 ? 503 : 200;
      res.end(i < 2 ? 'busy' : 'ok');
    });
    relay = await startRelay(
      `
routes:
  - id: creds
    path: /in/creds
    retry: { attempts: 3, minDelay: 10ms, maxDelay: 20ms }
    forward:
      url: ${target.url}/hook
      auth: { type: query, name: key, value: "\${KEY}" }
`,
      { KEY: 'every-time' },
    );
    const res = await post('/in/creds?key=a');
    expect(res.status).toBe(200);
    expect(target.received).toHaveLength(3);
    for (const r of target.received) expect(r.url).toBe('/hook?key=every-time');
  });
});

describe('auth registry', () => {
  function request(): OutboundRequest {
    return { method: 'POST', url: new URL('http://t/p?a=1'), headers: {}, body: undefined };
  }

  it('knows the five built-in types', () => {
    expect(authRegistry.types().sort()).toEqual(['basic', 'bearer', 'header', 'oauth2', 'query']);
  });

  it('names the known types when a type is unknown', () => {
    expect(() => authRegistry.get('oauth3')).toThrow(
      "unknown auth type 'oauth3', expected one of: basic, bearer, header, query, oauth2",
    );
  });

  it.each([
    [{ type: 'basic', username: 'u', password: 'p' }, 'authorization', 'Basic dTpw'],
    [{ type: 'bearer', token: 't' }, 'authorization', 'Bearer t'],
    [{ type: 'header', name: 'X-Key', value: 'v' }, 'x-key', 'v'],
  ])('%o sets %s', async (config, name, value) => {
    const req = request();
    await authRegistry.create(config).apply(req);
    expect(req.headers).toEqual({ [name]: value });
    expect(req.url.href).toBe('http://t/p?a=1');
  });

  it('query sets the parameter in place', async () => {
    const req = request();
    req.url = new URL('http://t/p?k=old&a=1&k=older');
    await authRegistry.create({ type: 'query', name: 'k', value: 'new' } as { type: string }).apply(req);
    expect(req.url.search).toBe('?k=new&a=1');
    expect(req.headers).toEqual({});
  });
});
