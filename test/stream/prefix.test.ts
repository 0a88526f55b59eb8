import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { HookrelayError } from '../../src/core/errors.ts';
import { parseRoutePath } from '../../src/core/route-path.ts';
import { createRouter } from '../../src/pipeline/router.ts';
import { parseUrlTemplate, renderUrlTemplate, restPathProblem } from '../../src/pipeline/url-template.ts';
import { type Relay, startRelay, startTarget, type Target } from '../helpers.ts';
import { rawRequest } from './support.ts';

/** Prefix routes (`/base/*`): matching, precedence, and a join that cannot leave the base path. */

const route = (id: string, path: string, methods = ['GET']) => ({ id, path: parseRoutePath(path), methods });

describe('prefix route paths', () => {
  it('`*` is only allowed as the whole last segment', () => {
    expect(parseRoutePath('/legacy/api/*')).toMatchObject({ prefix: true, shape: '/legacy/api/*' });
    expect(parseRoutePath('/t/:tenant/files/*')).toMatchObject({ prefix: true, params: ['tenant'] });
    expect(() => parseRoutePath('/a/*/b')).toThrow(/only be the last segment/);
    expect(() => parseRoutePath('/a/b*')).toThrow(/must be a whole segment/);
    expect(parseRoutePath('/a/b').prefix).toBe(false);
  });

  it('exact beats parameters, parameters beat prefixes, the longest prefix wins', () => {
    const match = createRouter([
      route('root', '/api/*'),
      route('deep', '/api/v1/*'),
      route('param', '/api/v1/:thing'),
      route('exact', '/api/v1/status'),
    ]);
    const found = (path: string) => {
      const m = match('GET', path);
      return m.kind === 'found' ? [m.route.id, m.params['*']] : [m.kind];
    };
    expect(found('/api/v1/status')).toEqual(['exact', undefined]);
    expect(found('/api/v1/orders')).toEqual(['param', undefined]);
    expect(found('/api/v1/orders/7')).toEqual(['deep', '/orders/7']);
    expect(found('/api/v1')).toEqual(['deep', '']);
    expect(found('/api/v2/x')).toEqual(['root', '/v2/x']);
    expect(found('/api')).toEqual(['root', '']);
    expect(found('/api/')).toEqual(['root', '/']);
    expect(found('/api/dir/')).toEqual(['root', '/dir/']);
    expect(found('/apix')).toEqual(['not-found']);
  });

  it('a prefix that does not accept the method lets a shorter one take it; else 405 lists both', () => {
    const match = createRouter([route('get', '/files/big/*', ['GET']), route('post', '/files/*', ['POST'])]);
    const m = match('POST', '/files/big/x');
    expect(m.kind === 'found' && m.route.id).toBe('post');
    const refused = match('PUT', '/files/big/x');
    expect(refused.kind === 'method-not-allowed' && refused.allow.sort()).toEqual(['GET', 'POST']);
  });
});

describe('joining the rest of the path to the base URL', () => {
  const join = (base: string, rest: string, query = '') => {
    const template = parseUrlTemplate(base, [], true);
    return renderUrlTemplate(template, { '*': rest }, new URLSearchParams(query));
  };

  it('appends segments as received and keeps a trailing slash', () => {
    expect(join('https://files.example.com/api', '')).toBe('https://files.example.com/api');
    expect(join('https://files.example.com/api', '/')).toBe('https://files.example.com/api/');
    expect(join('https://files.example.com/api/', '/a/b')).toBe('https://files.example.com/api/a/b');
    expect(join('https://files.example.com', '/a%20b/c')).toBe('https://files.example.com/a%20b/c');
    expect(join('https://files.example.com/api?v=2', '/x')).toBe('https://files.example.com/api/x?v=2');
  });

  it('percent-encodes what a URL parser would otherwise rewrite, byte for byte', () => {
    // Node hands over the request target as latin1: "é" in UTF-8 arrives as two chars.
    expect(join('https://h.example/api', `/${Buffer.from('é').toString('latin1')}`)).toBe(
      'https://h.example/api/%C3%A9',
    );
    expect(join('https://h.example/api', '/a|b{c}')).toBe('https://h.example/api/a%7Cb%7Bc%7D');
  });

  it.each([
    ['/..', 'dot segment'],
    ['/a/../../etc', 'dot segment'],
    ['/%2e%2e/x', 'dot segment'],
    ['/.%2E/x', 'dot segment'],
    ['/%2E', 'dot segment'],
    ['/a//b', 'empty path segment'],
    ['//evil.com/x', 'empty path segment'],
    ['/..%2Fx', 'encoded slash'],
    ['/a%2fb', 'encoded slash'],
    ['/a%5Cb', 'encoded slash'],
    ['/..\\x', 'backslash'],
    ['/%zz', 'malformed'],
    // Servlet containers cut `;…` off a segment, then resolve dots.
    ['/..;/x', "dot segment with a ';' parameter"],
    ['/..;jsessionid=1/x', "dot segment with a ';' parameter"],
    ['/.;/x', "dot segment with a ';' parameter"],
    ['/%2e%2e;/x', "dot segment with a ';' parameter"],
    ['/..%3b/x', "dot segment with a ';' parameter"],
    ['/..%3B/x', "dot segment with a ';' parameter"],
    ['/a%00.pdf', 'NUL byte'],
    ['/%252e%252e/x', 'double-encoded'],
    ['/..%252f..%252fadmin', 'double-encoded'],
    ['/%253b', 'double-encoded'],
  ])('refuses %s (%s)', (rest, reason) => {
    expect(restPathProblem(rest)).toContain(reason);
    try {
      join('https://files.example.com/api', rest);
      expect.unreachable();
    } catch (error) {
      expect((error as HookrelayError).code).toBe('HOOKRELAY_ERR_INVALID_PATH');
      expect((error as HookrelayError).status).toBe(400);
    }
  });

  it('whatever the rest, an accepted join stays under the base path on the same origin', () => {
    const segment = fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9.%/\\:@?#&=+$,;!~*'()[\]{}|^` -]{0,12}$/),
      fc
        .tuple(
          fc.constantFrom('..', '.', '%2e%2e', '%2E.', '%252e%252e', 'a'),
          fc.constantFrom(';', '%3b', '%3B', '%253b', ';x=1', '%00', ''),
          fc.constantFrom('', 'jsessionid=1', '/x', '..'),
        )
        .map((parts) => parts.join('')),
    );
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 5 }), (parts) => {
        const rest = parts.map((p) => `/${p}`).join('');
        let out: string;
        try {
          out = join('https://files.example.com/base/api', rest);
        } catch (error) {
          expect((error as HookrelayError).code).toBe('HOOKRELAY_ERR_INVALID_PATH');
          return;
        }
        const url = new URL(out);
        expect(url.origin).toBe('https://files.example.com');
        expect(url.pathname === '/base/api' || url.pathname.startsWith('/base/api/')).toBe(true);
        expect(url.search).toBe('');
        // And as a target that decodes up to twice and cuts `;` parameters would resolve it.
        expect(lenientResolve(url.pathname).startsWith('/base/api')).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });
});

/**
 * How a lenient target could read a path: decode (up to twice), cut `;` parameters off each
 * segment (servlet containers), treat `\\` as `/`, stop at NUL, then resolve dot segments.
 */
function lenientResolve(pathname: string): string {
  let path = pathname;
  for (let i = 0; i < 2; i++) {
    try {
      path = decodeURIComponent(path);
    } catch {
      break;
    }
  }
  path = path.split('\0', 1)[0]!.replaceAll('\\', '/');
  const out: string[] = [];
  for (const raw of path.split('/').slice(1)) {
    const segment = raw.split(';', 1)[0]!;
    if (segment === '..') out.pop();
    else if (segment !== '.') out.push(segment);
  }
  return `/${out.join('/')}`;
}

describe('prefix routes through the relay', () => {
  let target: Target | undefined;
  let relay: Relay | undefined;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
    relay = undefined;
    target = undefined;
  });

  async function start(delivery: 'stream' | 'sync') {
    target = await startTarget();
    relay = await startRelay(`
routes:
  - id: legacy
    path: /legacy/api/*
    methods: [GET, POST]
    delivery: ${delivery}
    forward:
      url: ${target.url}/base/api
`);
    return relay;
  }

  it.each(['stream', 'sync'] as const)(
    '%s: path and query are appended to the base URL',
    async (delivery) => {
      const { url } = await start(delivery);
      const res = await rawRequest(url, '/legacy/api/v1/files/a%20b.pdf?x=1&y=%C3%A9');
      expect(res.status).toBe(200);
      expect(target!.received.map((r) => r.url)).toEqual(['/base/api/v1/files/a%20b.pdf?x=1&y=%C3%A9']);
      const base = await rawRequest(url, '/legacy/api');
      expect(base.status).toBe(200);
      expect(target!.received[1]!.url).toBe('/base/api');
    },
  );

  it.each(['stream', 'sync'] as const)(
    '%s: traversal, encoded slashes and // tricks are refused with 400, nothing forwarded',
    async (delivery) => {
      const { url } = await start(delivery);
      for (const path of [
        '/legacy/api/..',
        '/legacy/api/../../admin',
        '/legacy/api/%2e%2e/%2e%2e/admin',
        '/legacy/api/.%2E/admin',
        '/legacy/api/..%2F..%2Fadmin',
        '/legacy/api/a%2Fb',
        '/legacy/api//evil.com/x',
        '/legacy/api/x//evil.com',
        '/legacy/api/..\\..\\admin',
        '/legacy/api/%5C%5Cevil.com',
        '/legacy/api/..;/admin',
        '/legacy/api/..;jsessionid=1/admin',
        '/legacy/api/.;/admin',
        '/legacy/api/%2e%2e;/admin',
        '/legacy/api/..%3b/admin',
        '/legacy/api/%252e%252e/admin',
      ]) {
        const res = await rawRequest(url, path);
        expect(res.status, path).toBe(400);
        expect(JSON.parse(res.body).error, path).toBe('HOOKRELAY_ERR_INVALID_PATH');
      }
      expect(target!.received).toEqual([]);
    },
  );

  it('a Host header or an absolute-form request target cannot change the target', async () => {
    const { url } = await start('stream');
    const res = await rawRequest(url, '/legacy/api/x', { headers: { host: 'evil.example.com' } });
    expect(res.status).toBe(200);
    expect(target!.received[0]!.headers.host).toBe(new URL(target!.url).host);
    expect(target!.received[0]!.headers['x-forwarded-host']).toBe('evil.example.com');
    const absolute = await rawRequest(url, 'http://evil.example.com/legacy/api/y');
    // Node passes the absolute form through as the path: no route starts with `http:`.
    expect(absolute.status).toBe(404);
    expect(target!.received).toHaveLength(1);
  });
});
