import { createHmac, randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Relay, startRelay, startTarget, type Target } from '../helpers.ts';

/**
 * Random methods, paths, headers, bodies and credentials thrown at a real relay whose routes
 * verify callers (basic, apiKey, hmac, ipAllow) and parse bodies (xml, form, map). Properties:
 * no answer is a 5xx (the target is up, nothing is overloaded), the process keeps serving, and a
 * request reaches the target only when it carried a valid credential.
 */

const PASSWORD = randomBytes(12).toString('hex');
const API_KEY = randomBytes(12).toString('hex');
const HMAC_SECRET = randomBytes(12).toString('hex');

type Kind = 'basic' | 'key' | 'hmac' | 'ip';
const PATHS: Record<Kind, string> = { basic: '/basic', key: '/key', hmac: '/hmac/acme', ip: '/ip' };

/** Statuses hookrelay documents for a caller's mistakes; 200 for a delivered request. */
const EXPECTED = new Set([200, 400, 401, 403, 404, 405, 408, 413, 415, 422, 431]);

let target: Target;
let relay: Relay;
const agent = new Agent({ keepAlive: true, maxSockets: 8 });

beforeAll(async () => {
  target = await startTarget();
  relay = await startRelay(
    `
server:
  maxHeaderSize: 8kb
  headersTimeout: 5s
  requestTimeout: 10s
defaults:
  limits: { body: 64kb, jsonDepth: 16 }
routes:
  - id: basic-xml
    path: /basic
    methods: [POST, PUT]
    verify:
      - type: basic
        users: [{ username: erp, password: "\${PASSWORD}" }]
    transform:
      - type: xml
        maxDepth: 16
      - type: map
        fields: { id: Order.Id }
    forward: { url: ${target.url}/basic }
  - id: key-form
    path: /key
    verify:
      - type: apiKey
        header: X-Api-Key
        keys: ["\${API_KEY}"]
    transform:
      - type: form
      - type: map
        fields: { item: item }
    forward: { url: ${target.url}/key }
  - id: hmac-map
    path: /hmac/:tenant
    methods: [POST, PATCH]
    verify:
      - type: hmac
        header: X-Sig
        prefix: sha256=
        secrets: ["\${HMAC_SECRET}"]
    transform:
      - type: map
        fields: { x: a.b }
    forward: { url: "${target.url}/hmac/{tenant}" }
  - id: ip
    path: /ip
    methods: [POST, GET, DELETE]
    verify:
      - type: ipAllow
        cidrs: [192.0.2.0/24]
        trustProxy: 1
    forward: { url: ${target.url}/ip }
`,
    { PASSWORD, API_KEY, HMAC_SECRET },
  );
});

afterAll(async () => {
  agent.destroy();
  await relay?.close();
  await target?.close();
});

/** One call with node:http (fetch refuses some methods and headers the fuzzer wants to send). */
function call(
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<{ status: number; body: string }> {
  const { port } = new URL(relay.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const token = fc.string({ unit: fc.constantFrom(...TOKEN_CHARS), minLength: 1, maxLength: 24 });
/** Names that frame the message or carry the credentials the generator controls itself. */
const RESERVED =
  /^(content-length|transfer-encoding|host|connection|expect|upgrade|te|trailer|keep-alive|content-type|authorization|x-api-key|x-sig|x-forwarded-for|x-fuzz-id)$/i;
const headerValue = fc.string({
  unit: fc.oneof(
    fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    fc.constant('\t'),
  ),
  maxLength: 80,
});
const randomHeaders = fc.dictionary(
  token.filter((name) => !RESERVED.test(name)),
  headerValue,
  { maxKeys: 6 },
);

const method = fc.oneof(
  fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'),
  // Methods Node's parser does not know: refused before any route (400).
  fc.constantFrom('BREW', 'PROPFIND', 'post'),
);

/**
 * Bodies as small descriptions, built in the property: a failing case prints `{ deep: 4000 }`,
 * not four thousand brackets.
 */
type BodySpec =
  | { bytes: number[] }
  | { text: string }
  | { deepJson: number }
  | { deepXml: number }
  | { oversized: number };
const bodySpec: fc.Arbitrary<BodySpec> = fc.oneof(
  fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 256 }).map((bytes) => ({ bytes })),
  fc.json({ maxDepth: 4 }).map((text) => ({ text })),
  fc.string({ maxLength: 200 }).map((s) => ({ text: `<Order><Id>${s}</Id></Order>` })),
  fc.webQueryParameters().map((text) => ({ text })),
  fc.integer({ min: 17, max: 5_000 }).map((deepJson) => ({ deepJson })),
  fc.integer({ min: 17, max: 2_000 }).map((deepXml) => ({ deepXml })),
  fc.integer({ min: 65 * 1024, max: 256 * 1024 }).map((oversized) => ({ oversized })),
);
function buildBody(spec: BodySpec): Buffer {
  if ('bytes' in spec) return Buffer.from(spec.bytes);
  if ('text' in spec) return Buffer.from(spec.text);
  if ('deepJson' in spec) return Buffer.from(`${'{"a":'.repeat(spec.deepJson)}1${'}'.repeat(spec.deepJson)}`);
  if ('deepXml' in spec) return Buffer.from(`${'<a>'.repeat(spec.deepXml)}${'</a>'.repeat(spec.deepXml)}`);
  return Buffer.alloc(spec.oversized, 0x61);
}
const contentType = fc.option(
  fc.oneof(
    fc.constantFrom(
      'application/json',
      'application/xml',
      'text/xml; charset=utf-8',
      'application/x-www-form-urlencoded',
      'application/octet-stream',
    ),
    headerValue,
  ),
  { nil: undefined },
);
/** What the caller presents: nothing, the right credential, or a forgery of the right shape. */
const credential = fc.oneof(
  fc.constant({ mode: 'none' as const }),
  fc.constant({ mode: 'valid' as const }),
  fc.record({ mode: fc.constant('forged' as const), value: headerValue }),
);

function credentialHeaders(
  kind: Kind,
  cred: { mode: 'none' } | { mode: 'valid' } | { mode: 'forged'; value: string },
  payload: Buffer,
): Record<string, string> {
  if (cred.mode === 'none') return {};
  const valid = cred.mode === 'valid';
  const value = valid ? '' : cred.value;
  switch (kind) {
    case 'basic':
      return {
        authorization: `Basic ${Buffer.from(valid ? `erp:${PASSWORD}` : `erp:${value}`).toString('base64')}`,
      };
    case 'key':
      return { 'x-api-key': valid ? API_KEY : value };
    case 'hmac':
      return {
        'x-sig': valid ? `sha256=${createHmac('sha256', HMAC_SECRET).update(payload).digest('hex')}` : value,
      };
    case 'ip':
      return { 'x-forwarded-for': valid ? '192.0.2.7' : `203.0.113.9, ${value}` };
  }
}

describe('a relay under random input', () => {
  it('never answers 5xx, keeps serving, and forwards only requests with a valid credential', async () => {
    let n = 0;
    const validIds = new Set<string>();
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Kind>('basic', 'key', 'hmac', 'ip'),
        fc.oneof(
          fc.constant(''),
          fc.constantFrom('/', '/nope', '/hmac/', '/hmac/a/b', '/basic/x', '/%2e%2e/ip'),
        ),
        method,
        randomHeaders,
        bodySpec,
        contentType,
        credential,
        async (kind, otherPath, verb, extra, spec, type, cred) => {
          const payload = buildBody(spec);
          const id = String(++n);
          const headers: Record<string, string> = { ...extra };
          if (type !== undefined) headers['content-type'] = type;
          Object.assign(headers, credentialHeaders(kind, cred, payload));
          headers['x-fuzz-id'] = id;
          // node:http frames a GET or OPTIONS body only when told its length.
          headers['content-length'] = String(payload.length);
          const path = otherPath || PATHS[kind];
          if (cred.mode === 'valid' && path === PATHS[kind]) validIds.add(id);
          // An oversized body is answered 413 before it is read; the rest is drained, so the
          // caller reads the answer rather than a connection reset.
          const res = await call(verb, path, headers, payload);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          expect(EXPECTED.has(res.status), `status ${res.status}: ${res.body}`).toBe(true);
          if (res.status >= 400 && verb !== 'HEAD') {
            const error = JSON.parse(res.body) as { error: string; requestId: string };
            expect(error.error).toMatch(/^HOOKRELAY_ERR_/);
            expect(typeof error.requestId).toBe('string');
          }
          if (res.status === 200) expect(validIds.has(id)).toBe(true);
        },
      ),
      { numRuns: 300, seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31) },
    );
    // Forwarded requests all carried a valid credential.
    for (const received of target.received) {
      expect(validIds.has(String(received.headers['x-fuzz-id']))).toBe(true);
    }
    // The generator reached both sides of the gate, so the property above is not vacuous.
    expect(target.received.length).toBeGreaterThan(0);
    expect(statuses.get(401) ?? 0).toBeGreaterThan(0);
    expect((await fetch(`${relay.url}/healthz`)).status).toBe(200);
    expect(relay.logs.filter((l) => l.code === 'HOOKRELAY_ERR_INTERNAL')).toEqual([]);
  }, 60_000);
});
