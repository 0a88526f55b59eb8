import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Received,
  type Relay,
  startRelay,
  startTarget,
  type Target,
  type TargetHandler,
} from '../helpers.ts';

/** Signatures on forwarded requests, checked by the receiving side's own verifiers. */

const SECRET = `whsec_${Buffer.from('hookrelay-outbound-signing-key-1').toString('base64')}`;
const NEXT = `whsec_${Buffer.from('hookrelay-outbound-signing-key-2').toString('base64')}`;
const OTHER = `whsec_${Buffer.from('somebody-else-entirely-000000000').toString('base64')}`;
const HMAC_SECRET = 'hmac-shared-s3cret';

/** What the standardwebhooks library makes of a request the target received. */
function swVerify(secret: string, r: Received): unknown {
  return new Webhook(secret).verify(r.body, r.headers as Record<string, string>);
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Answers `statuses[i]` to the i-th request, the last one from then on. */
const sequence =
  (statuses: number[]): TargetHandler =>
  (_req, res, i) => {
    res.statusCode = statuses[Math.min(i, statuses.length - 1)]!;
    res.end();
  };

describe('forward.sign', () => {
  const relays: Relay[] = [];
  const targets: Target[] = [];
  afterEach(async () => {
    for (const r of relays.splice(0)) await r.close();
    for (const t of targets.splice(0)) await t.close();
  });

  async function target(handler?: TargetHandler) {
    const t = await startTarget(handler);
    targets.push(t);
    return t;
  }
  async function relay(yaml: string, env: Record<string, string> = {}) {
    const r = await startRelay(`queue: { driver: memory }\nadmin: { enabled: false }\n${yaml}`, env);
    relays.push(r);
    return r;
  }

  describe('standard-webhooks', () => {
    it('sync: every attempt (retries included) verifies with the standardwebhooks library, over the transformed body, webhook-id = request id', async () => {
      const t = await target(sequence([503, 503, 200]));
      const r = await relay(
        `routes:
  - id: sw
    path: /in/sw
    retry: { attempts: 3, minDelay: 10ms, maxDelay: 20ms }
    transform: [{ type: form }]
    forward:
      url: ${t.url}/hook
      sign: [{ type: standard-webhooks, secrets: ["\${SW_SECRET}"] }]`,
        { SW_SECRET: SECRET },
      );
      const res = await fetch(`${r.url}/in/sw`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-request-id': 'req-sw-1' },
        body: 'order=42&status=paid',
      });
      expect(res.status).toBe(200);
      expect(t.received).toHaveLength(3);
      for (const got of t.received) {
        expect(got.body.toString()).toBe('{"order":"42","status":"paid"}');
        expect(swVerify(SECRET, got)).toEqual({ order: '42', status: 'paid' });
        expect(got.headers['webhook-id']).toBe('req-sw-1');
        expect(got.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
        // Another key does not verify: the check above could fail.
        expect(() => swVerify(OTHER, got)).toThrow();
      }
      expect(JSON.stringify(r.logs)).not.toContain(SECRET.slice(6));
    });

    it('several secrets sign together, so a receiver with either key accepts (rotation)', async () => {
      const t = await target();
      const r = await relay(
        `routes:
  - id: sw
    path: /in/sw
    forward:
      url: ${t.url}/hook
      sign: [{ type: standard-webhooks, secrets: ["\${OLD}", "\${NEW}"] }]`,
        { OLD: SECRET, NEW: NEXT },
      );
      expect((await fetch(`${r.url}/in/sw`, { method: 'POST', body: '{"a":1}' })).status).toBe(200);
      const got = t.received[0]!;
      expect((got.headers['webhook-signature'] as string).split(' ')).toHaveLength(2);
      expect(swVerify(SECRET, got)).toEqual({ a: 1 });
      expect(swVerify(NEXT, got)).toEqual({ a: 1 });
    });

    it('async: webhook-id is the delivery id on every attempt, each attempt freshly signed', async () => {
      const t = await target(sequence([500, 200]));
      const r = await relay(
        `routes:
  - id: sw
    path: /in/sw
    delivery: async
    queue: { minDelay: 10ms, maxDelay: 20ms }
    forward:
      url: ${t.url}/hook
      sign: [{ type: standard-webhooks, secrets: ["${SECRET}"] }]`,
      );
      const res = await fetch(`${r.url}/in/sw`, { method: 'POST', body: '{"e":1}' });
      expect(res.status).toBe(202);
      const { deliveryId } = (await res.json()) as { deliveryId: string };
      await until(() => t.received.length === 2, 'two attempts');
      for (const got of t.received) {
        expect(got.headers['webhook-id']).toBe(deliveryId);
        expect(swVerify(SECRET, got)).toEqual({ e: 1 });
      }
    });

    it('hybrid: the synchronous attempt and the queued retry carry the same webhook-id', async () => {
      const t = await target(sequence([503, 200]));
      const r = await relay(
        `routes:
  - id: sw
    path: /in/sw
    delivery: hybrid
    retry: { attempts: 1 }
    queue: { minDelay: 10ms, maxDelay: 20ms }
    forward:
      url: ${t.url}/hook
      sign: [{ type: standard-webhooks, secrets: ["${SECRET}"] }]`,
      );
      const res = await fetch(`${r.url}/in/sw`, { method: 'POST', body: '{"h":1}' });
      expect(res.status).toBe(202);
      const deliveryId = res.headers.get('x-hookrelay-delivery');
      await until(() => t.received.length === 2, 'the queued retry');
      expect(t.received.map((got) => got.headers['webhook-id'])).toEqual([deliveryId, deliveryId]);
      for (const got of t.received) expect(swVerify(SECRET, got)).toEqual({ h: 1 });
    });

    it('relay → relay: a hookrelay route verifying standard-webhooks accepts what another one signs', async () => {
      const t = await target();
      const receiver = await relay(
        `routes:
  - id: receive
    path: /in/receive
    verify: [{ type: standard-webhooks, secrets: ["${SECRET}"] }]
    forward: { url: ${t.url}/final }`,
      );
      const sender = await relay(
        `routes:
  - id: send
    path: /in/send
    forward:
      url: ${receiver.url}/in/receive
      sign: [{ type: standard-webhooks, secrets: ["${SECRET}"] }]`,
      );
      const res = await fetch(`${sender.url}/in/send`, { method: 'POST', body: '{"chain":true}' });
      expect(res.status).toBe(200);
      expect(t.received).toHaveLength(1);
      expect(t.received[0]!.body.toString()).toBe('{"chain":true}');
    });
  });

  describe('hmac', () => {
    it('the signature recomputed with node:crypto matches: template, prefix, encoding, timestamp header', async () => {
      const t = await target();
      const r = await relay(
        `routes:
  - id: h
    path: /in/h
    forward:
      url: ${t.url}/hook?x=1
      method: PUT
      sign:
        - type: hmac
          algorithm: sha512
          header: X-Relay-Signature
          encoding: base64
          prefix: "v1="
          signed: "{timestamp}:{method}:{url}:{body}"
          timestampHeader: X-Relay-Timestamp
          secret: "\${HMAC_SECRET}"`,
        { HMAC_SECRET },
      );
      const before = Math.floor(Date.now() / 1000);
      expect((await fetch(`${r.url}/in/h?y=2`, { method: 'POST', body: '{"n":7}' })).status).toBe(200);
      const got = t.received[0]!;
      const timestamp = got.headers['x-relay-timestamp'] as string;
      expect(Number(timestamp)).toBeGreaterThanOrEqual(before);
      const expected = createHmac('sha512', HMAC_SECRET)
        .update(`${timestamp}:PUT:/hook?x=1&y=2:{"n":7}`)
        .digest('base64');
      expect(got.headers['x-relay-signature']).toBe(`v1=${expected}`);
      expect(JSON.stringify(r.logs)).not.toContain(HMAC_SECRET);
    });

    it('defaults: sha256 hex over the raw body; milliseconds when asked', async () => {
      const t = await target();
      const r = await relay(
        `routes:
  - id: h
    path: /in/h
    forward:
      url: ${t.url}/hook
      sign:
        - { type: hmac, header: X-Sig, secret: "${HMAC_SECRET}" }
        - { type: hmac, header: X-Sig-Ms, secret: "${HMAC_SECRET}", signed: "{timestamp}.{body}", timestampHeader: X-Ts, timestampUnit: ms }`,
      );
      expect((await fetch(`${r.url}/in/h`, { method: 'POST', body: 'raw bytes' })).status).toBe(200);
      const got = t.received[0]!;
      expect(got.headers['x-sig']).toBe(createHmac('sha256', HMAC_SECRET).update('raw bytes').digest('hex'));
      const ts = got.headers['x-ts'] as string;
      expect(ts).toMatch(/^\d{13}$/);
      expect(got.headers['x-sig-ms']).toBe(
        createHmac('sha256', HMAC_SECRET).update(`${ts}.raw bytes`).digest('hex'),
      );
    });

    const signing = (secret: string) => `
        - type: hmac
          algorithm: sha256
          header: X-Hub-Signature-256
          prefix: "sha256="
          signed: "{timestamp}.{body}"
          timestampHeader: X-Timestamp
          ${secret}`;

    it('relay → relay: a route with the inbound hmac verifier configured alike accepts it, on a retried attempt too', async () => {
      const t = await target(sequence([503, 200]));
      const receiver = await relay(
        `routes:
  - id: receive
    path: /in/receive
    retry: { attempts: 1 }
    verify:${signing(`secrets: ["${HMAC_SECRET}"]`)}
    forward: { url: ${t.url}/final }`,
      );
      const sender = await relay(
        `routes:
  - id: send
    path: /in/send
    retry: { attempts: 2, minDelay: 10ms, maxDelay: 20ms, retryOn: [502, 503] }
    forward:
      url: ${receiver.url}/in/receive
      sign:${signing(`secret: "${HMAC_SECRET}"`)}`,
      );
      const res = await fetch(`${sender.url}/in/send`, { method: 'POST', body: '{"order":1}' });
      expect(res.status).toBe(200);
      // The first attempt passed verification and reached the target (which answered 503, relayed as
      // 502), the retry with its new timestamp and signature too (200).
      expect(t.received).toHaveLength(2);
      const verified = receiver.logs.filter((l) => l.msg === 'request' && l.route === 'receive');
      expect(verified.map((l) => l.status)).toEqual([502, 200]);
    });

    it('relay → relay: another secret is refused by the receiving relay (401), and nothing reaches the target', async () => {
      const t = await target();
      const receiver = await relay(
        `routes:
  - id: receive
    path: /in/receive
    verify:${signing(`secrets: ["${HMAC_SECRET}"]`)}
    forward: { url: ${t.url}/final }`,
      );
      const sender = await relay(
        `routes:
  - id: send
    path: /in/send
    forward:
      url: ${receiver.url}/in/receive
      sign:${signing('secret: "not-the-shared-secret"')}`,
      );
      const res = await fetch(`${sender.url}/in/send`, { method: 'POST', body: '{"order":1}' });
      expect(res.status).toBe(401);
      expect(t.received).toHaveLength(0);
    });
  });

  it('auth then signature: a query credential is part of the signed URL', async () => {
    const t = await target();
    const r = await relay(
      `routes:
  - id: h
    path: /in/h
    forward:
      url: ${t.url}/hook
      auth: { type: query, name: api_key, value: k-123 }
      sign: [{ type: hmac, header: X-Sig, signed: "{url}|{body}", secret: "${HMAC_SECRET}" }]`,
    );
    expect((await fetch(`${r.url}/in/h`, { method: 'POST', body: 'b' })).status).toBe(200);
    const got = t.received[0]!;
    expect(got.url).toBe('/hook?api_key=k-123');
    expect(got.headers['x-sig']).toBe(
      createHmac('sha256', HMAC_SECRET).update('/hook?api_key=k-123|b').digest('hex'),
    );
  });
});
