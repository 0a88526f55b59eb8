import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, sample, startRelay, startTarget, type Target } from '../helpers.ts';

describe('verify: basic and apiKey', () => {
  let target: Target;
  let relay: Relay;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
  });

  async function setup(verify: string) {
    target = await startTarget();
    relay = await startRelay(`
routes:
  - id: r
    path: /in
    verify:
${verify}
    forward:
      url: ${target.url}/hook
`);
  }

  const basic = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const post = (headers: Record<string, string> = {}, query = '') =>
    fetch(`${relay.url}/in${query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: '{}',
    });

  it('basic: accepts any configured pair (rotation), refuses wrong and missing credentials with 401', async () => {
    await setup(`      - type: basic
        users:
          - { username: erp, password: old-secret-1 }
          - { username: erp, password: new-secret-2 }`);
    expect((await post({ authorization: basic('erp', 'old-secret-1') })).status).toBe(200);
    expect((await post({ authorization: basic('erp', 'new-secret-2') })).status).toBe(200);
    const wrong = await post({ authorization: basic('erp', 'guess') });
    expect(wrong.status).toBe(401);
    const body = (await wrong.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ error: 'HOOKRELAY_ERR_UNAUTHORIZED', route: 'r', status: 401 });
    expect(String(body.message)).toContain('verify[0] (basic): mismatch');
    expect((await post()).status).toBe(401);
    expect((await post({ authorization: 'Bearer x' })).status).toBe(401);
    expect(target.received).toHaveLength(2);
    // The caller's Authorization is never forwarded.
    expect(target.received[0]!.headers.authorization).toBeUndefined();
    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    expect(
      sample(metrics, 'hookrelay_verify_failures_total', {
        route: 'r',
        verifier: 'basic',
        reason: 'mismatch',
      }),
    ).toBe(1);
    expect(
      sample(metrics, 'hookrelay_verify_failures_total', {
        route: 'r',
        verifier: 'basic',
        reason: 'missing',
      }),
    ).toBe(1);
    expect(JSON.stringify(relay.logs)).not.toMatch(/old-secret-1|new-secret-2|guess/);
  });

  it('apiKey in a header with a scheme: accepted keys pass, the key header is not forwarded', async () => {
    await setup(`      - type: apiKey
        header: X-Api-Key
        keys: [key-one-12345, key-two-67890]`);
    expect((await post({ 'x-api-key': 'key-two-67890' })).status).toBe(200);
    expect(target.received[0]!.headers['x-api-key']).toBeUndefined();
    expect((await post({ 'x-api-key': 'key-two-6789' })).status).toBe(401);
    expect((await post()).status).toBe(401);
  });

  it('apiKey after a scheme in Authorization', async () => {
    await setup(`      - type: apiKey
        header: Authorization
        scheme: Bearer
        keys: [key-one-12345]`);
    expect((await post({ authorization: 'Bearer key-one-12345' })).status).toBe(200);
    expect((await post({ authorization: 'key-one-12345' })).status).toBe(401);
  });

  it('apiKey in the query: the key parameter is removed from the forwarded query, the rest kept', async () => {
    await setup(`      - type: apiKey
        query: key
        keys: [key-one-12345]`);
    expect((await post({}, '?a=1&key=key-one-12345&b=2')).status).toBe(200);
    expect(target.received[0]!.url).toBe('/hook?a=1&b=2');
    expect((await post({}, '?key=nope')).status).toBe(401);
    expect(target.received).toHaveLength(1);
  });

  it('a route needs exactly one of header or query for apiKey (config error)', async () => {
    await expect(
      startRelay(`
routes:
  - id: r
    path: /in
    verify: [{ type: apiKey, keys: [abcdefgh1] }]
    echo: true
`),
    ).rejects.toThrow(/routes\[0\]\.verify\[0\]: needs exactly one of `header` or `query`/);
  });
});
