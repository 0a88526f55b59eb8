import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { clientAddress } from '../../src/verifiers/ip-allow.ts';
import { type Relay, startRelay, startTarget, type Target } from '../helpers.ts';

describe('verify: ipAllow and hmac', () => {
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

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${relay.url}/in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });

  it('ipAllow: loopback allowed by CIDR; other ranges refused with 403', async () => {
    await setup('      - { type: ipAllow, cidrs: [127.0.0.0/8, "::1/128"] }');
    expect((await post('{}')).status).toBe(200);
    await relay.close();
    await target.close();
    await setup('      - { type: ipAllow, cidrs: [192.0.2.0/24] }');
    const res = await post('{}');
    expect(res.status).toBe(403);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.error).toBe('HOOKRELAY_ERR_FORBIDDEN');
    // `lastError` and `attempts` belong to delivery errors; a refusal says why in `message`.
    expect(body).not.toHaveProperty('lastError');
    expect(body.message).toMatch(/ipAllow.*forbidden/);
    expect(target.received).toHaveLength(0);
  });

  it('ipAllow with trustProxy: the address vouched for by the trusted proxy decides, a forged one does not', async () => {
    await setup('      - { type: ipAllow, cidrs: [203.0.113.0/24], trustProxy: 1 }');
    // The proxy (127.0.0.1) appended the caller 203.0.113.7; anything before it is caller-controlled.
    expect((await post('{}', { 'x-forwarded-for': '10.9.9.9, 203.0.113.7' })).status).toBe(200);
    expect((await post('{}', { 'x-forwarded-for': '203.0.113.7, 10.9.9.9' })).status).toBe(403);
    expect((await post('{}')).status).toBe(403);
  });

  it.each([
    [0, '127.0.0.1'],
    [1, '198.51.100.2'],
    [2, '198.51.100.1'],
    [5, '198.51.100.1'],
  ])('clientAddress with %d trusted hops → %s', (hops, expected) => {
    const request = {
      method: 'POST',
      url: '/',
      query: new URLSearchParams(),
      headers: { 'x-forwarded-for': '198.51.100.1, 198.51.100.2' },
      body: Buffer.alloc(0),
      remoteAddress: '127.0.0.1',
    };
    expect(clientAddress(request, hops)).toBe(expected);
  });

  it('an invalid CIDR is a config error naming the entry', async () => {
    await expect(
      startRelay(`
routes:
  - id: r
    path: /in
    verify: [{ type: ipAllow, cidrs: [10.0.0.0/33] }]
    echo: true
`),
    ).rejects.toThrow(/routes\[0\]\.verify\[0\]\.cidrs\[0\]: invalid address or CIDR '10\.0\.0\.0\/33'/);
  });

  it('hmac over the raw body: hex with prefix, rotation, wrong and missing signatures', async () => {
    await setup(`      - type: hmac
        header: X-Signature
        prefix: "sha256="
        secrets: [old-secret, new-secret]`);
    const body = '{"event":"paid","amount":"0042.00"}';
    const sign = (secret: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    expect((await post(body, { 'x-signature': sign('old-secret') })).status).toBe(200);
    expect((await post(body, { 'x-signature': sign('new-secret') })).status).toBe(200);
    expect((await post(`${body} `, { 'x-signature': sign('new-secret') })).status).toBe(401);
    expect((await post(body, { 'x-signature': sign('other') })).status).toBe(401);
    expect((await post(body, { 'x-signature': sign('new-secret').slice(7) })).status).toBe(401);
    expect((await post(body)).status).toBe(401);
    // The body arrives byte for byte: it was verified on the raw bytes.
    expect(target.received.map((r) => r.body.toString())).toEqual([body, body]);
    expect(JSON.stringify(relay.logs)).not.toMatch(/old-secret|new-secret/);
  });

  it('hmac with a timestamp header the signature does not cover is a config error naming `signed`', async () => {
    await expect(
      startRelay(`
routes:
  - id: r
    path: /in
    verify:
      - type: hmac
        header: X-Sig
        timestampHeader: X-Timestamp
        tolerance: 5m
        secrets: [s3cret]
    echo: true
`),
    ).rejects.toThrow(
      /test\.yaml:6:9: routes\[0\]\.verify\[0\]\.signed: '\{body\}' does not contain \{timestamp\}, so the signature does not cover X-Timestamp/,
    );
  });

  it('an unsigned timestamp is allowed with a replay window, which refuses the captured signature again', async () => {
    await setup(`      - type: hmac
        header: X-Sig
        timestampHeader: X-Timestamp
        replayWindow: 10m
        secrets: [s3cret]`);
    const body = '{"a":1}';
    const sig = createHmac('sha256', 's3cret').update(body).digest('hex');
    const now = () => String(Math.floor(Date.now() / 1000));
    expect((await post(body, { 'x-sig': sig, 'x-timestamp': now() })).status).toBe(200);
    // The attack: the same capture with a fresh timestamp.
    const replay = await post(body, { 'x-sig': sig, 'x-timestamp': String(Number(now()) + 1) });
    expect(replay.status).toBe(401);
    expect(String(((await replay.json()) as Record<string, unknown>).message)).toContain('replayed');
    expect(target.received).toHaveLength(1);
  });

  it('hmac with a signed timestamp: stale or missing timestamps are refused', async () => {
    await setup(`      - type: hmac
        header: X-Sig
        encoding: base64
        signed: "{timestamp}.{body}"
        timestampHeader: X-Timestamp
        tolerance: 5m
        secrets: [s3cret]`);
    const body = '{"a":1}';
    const sign = (ts: string) => createHmac('sha256', 's3cret').update(`${ts}.${body}`).digest('base64');
    const now = String(Math.floor(Date.now() / 1000));
    expect((await post(body, { 'x-sig': sign(now), 'x-timestamp': now })).status).toBe(200);
    const stale = String(Math.floor(Date.now() / 1000) - 600);
    const res = await post(body, { 'x-sig': sign(stale), 'x-timestamp': stale });
    expect(res.status).toBe(401);
    expect(String(((await res.json()) as Record<string, unknown>).message)).toContain('expired');
    expect((await post(body, { 'x-sig': sign(now) })).status).toBe(401);
    expect((await post(body, { 'x-sig': sign(now), 'x-timestamp': String(Number(now) + 1) })).status).toBe(
      401,
    );
  });
});
