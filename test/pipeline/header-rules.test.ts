import { describe, expect, it } from 'vitest';
import type { CompiledForward } from '../../src/config/compile.ts';
import { appendForwardedFor, forwardableHeaders, relayableResponseHeaders } from '../../src/core/headers.ts';
import type { InboundMessage } from '../../src/core/message.ts';
import { buildOutbound } from '../../src/pipeline/outbound.ts';
import { parseUrlTemplate } from '../../src/pipeline/url-template.ts';

/** Table tests for the header rules and the outbound builder, without any server. */
describe('forwardableHeaders', () => {
  const caller = {
    host: 'relay:8080',
    connection: 'Keep-Alive, X-Hop-A , x-hop-b',
    'keep-alive': 'timeout=5',
    'transfer-encoding': 'chunked',
    'content-length': '12',
    expect: '100-continue',
    te: 'trailers',
    trailer: 'x-checksum',
    upgrade: 'websocket',
    'proxy-authorization': 'Basic eA==',
    'proxy-connection': 'keep-alive',
    'x-hop-a': '1',
    'x-hop-b': '2',
    authorization: 'Bearer c',
    cookie: 'a=1',
    'x-request-id': 'rid',
    'x-forwarded-for': '10.0.0.1',
    'content-type': 'text/xml',
    accept: ['application/json', 'text/xml'] as unknown as string,
    'x-erp': 'e',
  };

  it('by default keeps only end-to-end, non-private headers', () => {
    expect(forwardableHeaders(caller, undefined, 'x-request-id')).toEqual({
      'content-type': 'text/xml',
      accept: 'application/json, text/xml',
      'x-erp': 'e',
    });
  });

  it('with a pass list keeps only listed headers (plus the body content type), never hop-by-hop or rebuilt ones', () => {
    const pass = new Set([
      'authorization',
      'cookie',
      'x-erp',
      'te',
      'x-hop-a',
      'host',
      'content-length',
      'x-request-id',
    ]);
    expect(forwardableHeaders(caller, pass, 'x-request-id')).toEqual({
      authorization: 'Bearer c',
      cookie: 'a=1',
      'x-erp': 'e',
      'content-type': 'text/xml',
    });
  });

  it('an empty pass list forwards only the headers that describe the body', () => {
    expect(forwardableHeaders(caller, new Set(), 'x-request-id')).toEqual({ 'content-type': 'text/xml' });
  });

  it('honours a custom request id header', () => {
    const out = forwardableHeaders(
      { 'x-correlation-id': 'c1', 'x-request-id': 'r1' },
      undefined,
      'x-correlation-id',
    );
    expect(out).toEqual({ 'x-request-id': 'r1' });
  });
});

describe('relayableResponseHeaders', () => {
  it('drops hop-by-hop, Connection-named and length headers, keeps the rest', () => {
    expect(
      relayableResponseHeaders({
        connection: 'close, x-internal',
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
        'content-length': '3',
        'proxy-authenticate': 'Basic',
        'x-internal': 'secret',
        'content-type': 'application/json',
        'set-cookie': ['a=1', 'b=2'],
        'retry-after': '5',
      }),
    ).toEqual({ 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'], 'retry-after': '5' });
  });
});

describe('appendForwardedFor', () => {
  it.each<[string | string[] | undefined, string]>([
    [undefined, '127.0.0.1'],
    ['', '127.0.0.1'],
    ['203.0.113.9', '203.0.113.9, 127.0.0.1'],
    ['203.0.113.9, 10.0.0.2', '203.0.113.9, 10.0.0.2, 127.0.0.1'],
    [['203.0.113.9', '10.0.0.2'], '203.0.113.9, 10.0.0.2, 127.0.0.1'],
  ])('%j → %s', (existing, expected) => {
    expect(appendForwardedFor(existing, '127.0.0.1')).toBe(expected);
  });
});

describe('buildOutbound', () => {
  const forward = (
    url: string,
    params: string[] = [],
    extra: Partial<CompiledForward> = {},
  ): CompiledForward => ({
    template: parseUrlTemplate(url, params),
    method: undefined,
    headers: {},
    passHeaders: undefined,
    passQuery: true,
    auth: undefined,
    sign: [],
    tls: undefined,
    followRedirects: 0,
    consumedHeaders: new Set(),
    consumedQuery: new Set(),
    ...extra,
  });
  const message = (extra: Partial<InboundMessage> = {}): InboundMessage => ({
    requestId: 'r-1',
    routeId: 'r',
    method: 'POST',
    path: '/in',
    params: {},
    query: new URLSearchParams(),
    rawQuery: '',
    headers: { 'content-type': 'application/json', 'x-request-id': 'ignored-here' },
    body: Buffer.from('{}'),
    clientIp: '192.0.2.1',
    receivedAt: 0,
    ...extra,
  });

  it('static URL, caller query appended verbatim, relay headers set', () => {
    const out = buildOutbound(forward('http://t:1/a?x=1'), message({ rawQuery: 'b=%2F&c' }), 'x-request-id');
    expect(out.url.href).toBe('http://t:1/a?x=1&b=%2F&c');
    expect(out.headers).toEqual({
      'content-type': 'application/json',
      'x-forwarded-for': '192.0.2.1',
      'x-request-id': 'r-1',
    });
    expect(out.method).toBe('POST');
    expect(out.body?.toString()).toBe('{}');
  });

  it('raw query bytes outside ASCII are forwarded as the same bytes, not re-encoded as UTF-8', () => {
    // Node hands the request target over as latin1: UTF-8 "é" (C3 A9) arrives as two characters.
    const raw = `name=caf${Buffer.from('é').toString('latin1')}&q=a b`;
    const out = buildOutbound(forward('http://t:1/a'), message({ rawQuery: raw }), 'x-request-id');
    expect(out.url.search).toBe('?name=caf%C3%A9&q=a%20b');
  });

  it('static config headers override caller ones; method override', () => {
    const out = buildOutbound(
      forward('http://t/a', [], { headers: { 'content-type': 'text/plain', 'x-src': 'erp' }, method: 'PUT' }),
      message(),
      'x-request-id',
    );
    expect(out.headers['content-type']).toBe('text/plain');
    expect(out.headers['x-src']).toBe('erp');
    expect(out.method).toBe('PUT');
  });

  it('an empty GET or DELETE sends no body; an empty POST sends an empty one', () => {
    const empty = Buffer.alloc(0);
    expect(
      buildOutbound(forward('http://t/a'), message({ method: 'GET', body: empty }), 'x-request-id').body,
    ).toBeUndefined();
    expect(
      buildOutbound(forward('http://t/a'), message({ method: 'DELETE', body: empty }), 'x-request-id').body,
    ).toBeUndefined();
    expect(buildOutbound(forward('http://t/a'), message({ body: empty }), 'x-request-id').body).toEqual(
      empty,
    );
  });

  it('renders path parameters percent-encoded under the fixed origin', () => {
    const out = buildOutbound(
      forward('https://api.example.com/{tenant}/o', ['tenant'], { passQuery: false }),
      message({ params: { tenant: '@evil.example:8080' }, rawQuery: 'x=1' }),
      'x-request-id',
    );
    expect(out.url.href).toBe('https://api.example.com/%40evil.example%3A8080/o');
    // A value with a separator in it is refused outright: a target decoding %2F would split on it.
    expect(() =>
      buildOutbound(
        forward('https://api.example.com/{tenant}/o', ['tenant'], { passQuery: false }),
        message({ params: { tenant: '@evil.example/..' }, rawQuery: 'x=1' }),
        'x-request-id',
      ),
    ).toThrow(/HOOKRELAY_ERR_INVALID_PARAMETER|refused as part of the target path/);
  });
});
