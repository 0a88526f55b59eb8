import { describe, expect, it } from 'vitest';
import { parseRoutePath } from '../../src/core/route-path.ts';
import { createRouter } from '../../src/pipeline/router.ts';

const route = (id: string, path: string, methods: string[] = ['POST']) => ({
  id,
  path: parseRoutePath(path),
  methods,
});

const match = createRouter([
  route('exact', '/in/orders'),
  route('exact-put', '/in/orders', ['PUT']),
  route('root', '/'),
  route('trailing', '/in/trailing/'),
  route('tenant', '/in/:tenant/orders', ['POST', 'PATCH']),
  route('two', '/t/:a/:b'),
  route('literal-wins', '/in/special/orders', ['GET']),
]);

describe('router', () => {
  it.each([
    ['POST', '/in/orders', 'exact', {}],
    ['PUT', '/in/orders', 'exact-put', {}],
    ['POST', '/in/orders/', 'exact', {}],
    ['POST', '/', 'root', {}],
    ['POST', '/in/trailing', 'trailing', {}],
    ['POST', '/in/trailing/', 'trailing', {}],
    ['POST', '/in/acme/orders', 'tenant', { tenant: 'acme' }],
    ['PATCH', '/in/acme/orders/', 'tenant', { tenant: 'acme' }],
    ['POST', '/in/a%20b/orders', 'tenant', { tenant: 'a b' }],
    ['POST', '/in/a%2Fb/orders', 'tenant', { tenant: 'a/b' }],
    ['POST', '/in/..%2F/orders', 'tenant', { tenant: '../' }],
    ['POST', '/in/...', undefined, undefined],
    ['POST', '/t/x/y', 'two', { a: 'x', b: 'y' }],
    ['GET', '/in/special/orders', 'literal-wins', {}],
    ['POST', '/in/special/orders', 'tenant', { tenant: 'special' }],
  ])('%s %s → %s %o', (method, path, id, params) => {
    const m = match(method, path);
    if (id === undefined) {
      expect(m.kind).toBe('not-found');
      return;
    }
    expect(m).toMatchObject({ kind: 'found', route: { id }, params });
  });

  it.each([
    '/in/orders/x',
    '/in/order',
    '/IN/ORDERS',
    '/in//orders',
    '/in/orders//',
    '/t/x',
    '/t/x/y/z',
    '/in/acme/orders/extra',
    '',
  ])('%j is not found', (path) => {
    expect(match('POST', path)).toEqual({ kind: 'not-found' });
  });

  it.each([
    '/in/../orders',
    '/in/./orders',
    '/in/%2e%2e/orders',
    '/in/.%2E/orders',
    '/in/%2E/orders',
    '/t/../x',
  ])('a parameter never matches a dot segment: %s', (path) => {
    expect(match('POST', path).kind).toBe('not-found');
  });

  it('a parameter never matches a malformed percent-encoding', () => {
    expect(match('POST', '/in/%E0%A4%A/orders').kind).toBe('not-found');
  });

  it('405 lists the methods of every route on that path, in configuration order', () => {
    expect(match('DELETE', '/in/orders')).toMatchObject({
      kind: 'method-not-allowed',
      allow: ['POST', 'PUT'],
      route: { id: 'exact' },
    });
    expect(match('GET', '/in/acme/orders')).toMatchObject({
      kind: 'method-not-allowed',
      allow: ['POST', 'PATCH'],
    });
    // The literal route and the parameterised route both match this path.
    expect(match('DELETE', '/in/special/orders')).toMatchObject({
      kind: 'method-not-allowed',
      allow: ['GET', 'POST', 'PATCH'],
    });
  });

  it('a router without routes finds nothing', () => {
    expect(createRouter([])('GET', '/')).toEqual({ kind: 'not-found' });
  });
});

describe('parseRoutePath', () => {
  it.each([
    ['/in/orders', '/in/orders', []],
    ['/in/orders/', '/in/orders', []],
    ['/', '/', []],
    ['/in/:tenant/orders/:id', '/in/:/orders/:', ['tenant', 'id']],
  ])('%s has shape %s and params %o', (path, shape, params) => {
    expect(parseRoutePath(path)).toMatchObject({ shape, params });
  });

  it.each([
    ['in/orders', "must start with '/'"],
    ['/in?x=1', 'must not contain a query or fragment'],
    ['/in#x', 'must not contain a query or fragment'],
    ['/in//orders', "invalid path segment ''"],
    ['/in/../orders', "invalid path segment '..'"],
    ['/in/./orders', "invalid path segment '.'"],
    ['/in/:1bad', "invalid parameter ':1bad'"],
    ['/in/:', "invalid parameter ':'"],
    ['/in/:a/:a', "parameter ':a' appears twice"],
    ['/in/a b', "invalid path segment 'a b'"],
  ])('%s is refused: %s', (path, message) => {
    expect(() => parseRoutePath(path)).toThrow(message);
  });
});
