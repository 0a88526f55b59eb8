import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Relay, startRelay, startTarget, type Target } from '../helpers.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url));

/** Random bytes that surely hold a NUL and sequences that are not valid UTF-8. */
function binary(): Buffer {
  const invalidUtf8 = Buffer.from([
    0x00, 0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0x00, 0x0d, 0x0a,
  ]);
  return Buffer.concat([invalidUtf8, randomBytes(64 * 1024), invalidUtf8]);
}

/**
 * With no transform configured, every body type passes through byte for byte with its content
 * type, in both directions: the target echoes what it got, and the caller must get the same bytes.
 */
describe('bodies pass through untouched', () => {
  let target: Target;
  let relay: Relay;
  beforeAll(async () => {
    target = await startTarget((req, res) => {
      if (req.headers['content-type']) res.setHeader('content-type', req.headers['content-type']);
      res.setHeader('x-seen-method', req.method);
      res.end(req.body);
    });
    relay = await startRelay(`
routes:
  - id: bodies
    path: /in/bodies
    methods: [GET, POST, PUT, PATCH, DELETE]
    forward:
      url: ${target.url}/hook
`);
  });
  afterAll(async () => {
    await relay?.close();
    await target?.close();
  });

  async function roundTrip(
    method: string,
    contentType: string | undefined,
    body: Buffer | undefined,
    query = '',
  ) {
    const before = target.received.length;
    const headers: Record<string, string> = contentType ? { 'content-type': contentType } : {};
    const res = await fetch(`${relay.url}/in/bodies${query}`, { method, headers, body });
    expect(res.status).toBe(200);
    expect(target.received).toHaveLength(before + 1);
    const got = target.received.at(-1)!;
    return { res, got, echoed: Buffer.from(await res.arrayBuffer()) };
  }

  it.each([
    ['application/json', 'order.json'],
    ['application/json; charset=utf-8', 'order.json'],
    ['application/xml', 'order.xml'],
    ['text/xml; charset=utf-8', 'order.xml'],
    ['application/soap+xml; charset=utf-8; action="urn:OrderCreated"', 'soap-request.xml'],
    ['application/x-www-form-urlencoded', 'order.form'],
    ['text/plain; charset=utf-8', 'order.txt'],
  ])('%s (%s)', async (contentType, file) => {
    const body = fixture(file);
    const { res, got, echoed } = await roundTrip('POST', contentType, body);
    expect(got.method).toBe('POST');
    expect(got.headers['content-type']).toBe(contentType);
    expect(got.headers['content-length']).toBe(String(body.length));
    expect(got.body.equals(body)).toBe(true);
    expect(res.headers.get('content-type')).toBe(contentType);
    expect(echoed.equals(body)).toBe(true);
  });

  it('binary (NUL bytes, invalid UTF-8) as application/octet-stream', async () => {
    const body = binary();
    const { res, got, echoed } = await roundTrip('POST', 'application/octet-stream', body);
    expect(got.headers['content-type']).toBe('application/octet-stream');
    expect(got.body.length).toBe(body.length);
    expect(got.body.equals(body)).toBe(true);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(echoed.equals(body)).toBe(true);
  });

  it('binary without any content type stays without one', async () => {
    const body = binary();
    const { got } = await roundTrip('POST', undefined, body);
    expect(got.headers['content-type']).toBeUndefined();
    expect(got.body.equals(body)).toBe(true);
  });

  it('an empty POST body arrives empty with Content-Length: 0', async () => {
    const { got, echoed } = await roundTrip('POST', 'application/json', Buffer.alloc(0));
    expect(got.body.length).toBe(0);
    expect(got.headers['content-length']).toBe('0');
    expect(echoed.length).toBe(0);
  });

  it('a GET with a query only: the query passes through verbatim, no body is sent', async () => {
    const query = '?id=A-1001&tag=a&tag=b&enc=%2F%20%E2%82%AC&plus=a+b&flag';
    const { got } = await roundTrip('GET', undefined, undefined, query);
    expect(got.method).toBe('GET');
    expect(got.url).toBe(`/hook${query}`);
    expect(got.body.length).toBe(0);
    expect(got.headers['content-length']).toBeUndefined();
    expect(got.headers['transfer-encoding']).toBeUndefined();
  });

  it.each(['PUT', 'PATCH'])('%s with a JSON body', async (method) => {
    const body = fixture('order.json');
    const { res, got } = await roundTrip(method, 'application/json', body, '?v=2');
    expect(got.method).toBe(method);
    expect(got.url).toBe('/hook?v=2');
    expect(got.body.equals(body)).toBe(true);
    expect(res.headers.get('x-seen-method')).toBe(method);
  });

  it('DELETE without a body', async () => {
    const { got } = await roundTrip('DELETE', undefined, undefined, '?id=7');
    expect(got.method).toBe('DELETE');
    expect(got.url).toBe('/hook?id=7');
    expect(got.body.length).toBe(0);
  });

  it('DELETE with a body', async () => {
    const { got } = await roundTrip('DELETE', 'application/json', Buffer.from('{"reason":"dup"}'));
    expect(got.method).toBe('DELETE');
    expect(got.body.toString()).toBe('{"reason":"dup"}');
  });
});
