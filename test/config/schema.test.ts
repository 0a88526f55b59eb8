import { describe, expect, it } from 'vitest';
import { compileRoutes } from '../../src/config/compile.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { ConfigError, formatConfigIssue } from '../../src/core/errors.ts';
import type { SyncRoute } from '../../src/modes/sync/index.ts';

/** The schema's rules, each with the message and location an operator sees. */

const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;

const parse = (source: string, env: Record<string, string> = {}): Config =>
  parseConfig(source, 'hookrelay.yaml', { env });

/** `line:col path: message` for every issue, in the order they are reported. */
function errors(source: string, env: Record<string, string> = {}): string[] {
  try {
    parse(source, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`);
  }
  throw new Error('expected the config to be rejected');
}

/** A config with one forwarding route, plus whatever lines follow. */
const oneRoute = (...extra: string[]) =>
  yaml(
    'routes:', // 1
    '  - id: orders', // 2
    '    path: /in/:tenant/orders', // 3
    '    forward:', // 4
    '      url: https://api.example.com/{tenant}/orders', // 5
    ...extra, // 6…
  );

describe('unknown keys are errors', () => {
  it.each([
    [
      'top level',
      yaml('sever: {}', 'routes: [{id: a, path: /a, echo: true}]'),
      "1:1 sever: unknown key 'sever'",
    ],
    [
      'in server',
      yaml('server:', '  prot: 8080', 'routes: [{id: a, path: /a, echo: true}]'),
      "2:3 server.prot: unknown key 'prot'",
    ],
    [
      'in defaults.retry',
      yaml('defaults:', '  retry: {atempts: 3}', 'routes: [{id: a, path: /a, echo: true}]'),
      "2:11 defaults.retry.atempts: unknown key 'atempts'",
    ],
    ['in a route', oneRoute('    retries: 3'), "6:5 routes[0].retries: unknown key 'retries'"],
    [
      'in a route retry block',
      oneRoute('    retry: {atempts: 3}'),
      "6:13 routes[0].retry.atempts: unknown key 'atempts'",
    ],
    ['in forward', oneRoute('      header: {X-A: b}'), "6:7 routes[0].forward.header: unknown key 'header'"],
    [
      'in auth',
      oneRoute('      auth: {type: bearer, token: t, scheme: Token}'),
      "6:38 routes[0].forward.auth.scheme: unknown key 'scheme'",
    ],
    [
      'in respond',
      oneRoute('    respond: {status: 202, bdy: ok}'),
      "6:28 routes[0].respond.bdy: unknown key 'bdy'",
    ],
  ])('%s', (_name, source, expected) => {
    expect(errors(source)).toEqual([expected]);
  });

  it('a typo in `forward:` is reported with the consequence', () => {
    const source = yaml(
      'routes:',
      '  - id: orders',
      '    path: /in/orders',
      '    forwrd:',
      '      url: https://api.example.com/orders',
    );
    expect(errors(source)).toEqual([
      "4:5 routes[0].forwrd: unknown key 'forwrd'",
      '2:5 routes[0]: a route needs exactly one of `forward`, `targets` or `echo: true`',
    ]);
  });

  it('several unknown keys in one mapping are listed together', () => {
    expect(errors(oneRoute('    foo: 1', '    bar: 2'))).toEqual([
      "2:5 routes[0]: unknown keys 'foo', 'bar'",
    ]);
  });
});

describe('forward.url', () => {
  const url = (value: string, path = '/in/:tenant/orders') =>
    errors(yaml('routes:', '  - id: r', `    path: ${path}`, '    forward:', `      url: "${value}"`));

  it.each([
    ['ftp://example.com/x', "must be an absolute http(s) URL, got 'ftp://example.com/x'"],
    ['/relative/path', "must be an absolute http(s) URL, got '/relative/path'"],
    ['example.com/hook', "must be an absolute http(s) URL, got 'example.com/hook'"],
    ['', "must be an absolute http(s) URL, got ''"],
    ['https://', "must be an absolute http(s) URL without credentials (use forward.auth), got 'https://'"],
  ])('%j is rejected', (value, message) => {
    expect(url(value)).toEqual([`5:7 routes[0].forward.url: ${message}`]);
  });

  it('the path of the bad key names the route index, e.g. routes[2].forward.url', () => {
    const source = yaml(
      'routes:',
      '  - { id: a, path: /a, echo: true }',
      '  - { id: b, path: /b, forward: { url: "https://ok.example.com/" } }',
      '  - id: c',
      '    path: /c',
      '    forward:',
      '      url: not-a-url',
    );
    let error: ConfigError | undefined;
    try {
      parse(source);
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error?.issues.map(formatConfigIssue)).toEqual([
      "hookrelay.yaml:7:7: routes[2].forward.url: must be an absolute http(s) URL, got 'not-a-url' [HOOKRELAY_CONFIG_INVALID_FORMAT]",
    ]);
  });

  it('rejects credentials in the URL', () => {
    expect(url('https://user:pw@api.example.com/')).toHaveLength(1);
    expect(url('https://user:pw@api.example.com/')[0]).toContain('without credentials');
  });

  // Error output ends up in CI logs and journald; a password written in the URL must not be echoed.
  it('does not echo a password written in the URL', () => {
    expect(url('https://user:hunter2@api.example.com/')[0]).not.toContain('hunter2');
  });

  it('a placeholder in the host is rejected: the target is fixed by config', () => {
    expect(url('https://{tenant}.example.com/orders')).toEqual([
      '5:7 routes[0].forward.url: placeholders may only appear in the path and query, not in the host',
    ]);
    expect(url('https://api.example.com:{tenant}/orders')).toEqual([
      '5:7 routes[0].forward.url: placeholders may only appear in the path and query, not in the host',
    ]);
  });

  it('an unknown placeholder names the parameters the route has', () => {
    expect(url('https://api.example.com/{tenant}/{customer}')).toEqual([
      "5:7 routes[0].forward.url: unknown placeholder '{customer}': path parameters of this route are {tenant}; query values are {query.NAME}",
    ]);
    expect(url('https://api.example.com/{tenant}', '/in/orders')).toEqual([
      "5:7 routes[0].forward.url: unknown placeholder '{tenant}': path parameters of this route are none; query values are {query.NAME}",
    ]);
  });

  it('path parameters and query values are valid placeholders', () => {
    const config = parse(
      yaml(
        'routes:',
        '  - id: r',
        '    path: /in/:tenant/:kind',
        '    forward:',
        '      url: https://api.example.com/{tenant}/{kind}?src={query.source}',
      ),
    );
    const [route] = compileRoutes(config) as SyncRoute[];
    expect(route!.forward!.template.origin).toBe('https://api.example.com');
    expect(route!.forward!.template.parts).toEqual([
      { literal: 'https://api.example.com/' },
      { param: 'tenant' },
      { literal: '/' },
      { param: 'kind' },
      { literal: '?src=' },
      { query: 'source' },
    ]);
  });
});

describe('durations and sizes', () => {
  it('accept units and bare numbers (ms, bytes)', () => {
    const config = parse(
      yaml(
        'server: { shutdownGrace: 1.5s }',
        'defaults:',
        '  timeouts: { connect: 500ms, attempt: 2s, deadline: 5m }',
        '  retry: { minDelay: 50, maxDelay: 1s }',
        '  limits: { body: 64kb, response: 2mb }',
        'routes: [{ id: a, path: /a, echo: true, limits: { body: 512 } }]',
      ),
    );
    expect(config.server.shutdownGrace).toBe(1500);
    expect(config.defaults.timeouts).toEqual({ connect: 500, attempt: 2000, deadline: 300_000 });
    expect(config.defaults.retry).toMatchObject({ minDelay: 50, maxDelay: 1000 });
    expect(config.defaults.limits).toEqual({ body: 64 * 1024, response: 2 * 1024 * 1024, jsonDepth: 64 });
    expect(config.routes[0]!.limits).toEqual({ body: 512 });
  });

  it.each([
    [
      'defaults:\n  timeouts: { attempt: 10 sec }',
      '2:15 defaults.timeouts.attempt',
      "invalid duration '10 sec'",
    ],
    ['defaults:\n  timeouts: { deadline: -1s }', '2:15 defaults.timeouts.deadline', "invalid duration '-1s'"],
    ['defaults:\n  retry: { maxDelay: 5w }', '2:12 defaults.retry.maxDelay', "invalid duration '5w'"],
    ['server:\n  shutdownGrace: soon', '2:3 server.shutdownGrace', "invalid duration 'soon'"],
    ['defaults:\n  limits: { body: 1 zb }', '2:13 defaults.limits.body', "invalid size '1 zb'"],
    ['defaults:\n  limits: { body: 1.5 }', '2:13 defaults.limits.body', "invalid size '1.5'"],
    ['defaults:\n  limits: { response: lots }', '2:13 defaults.limits.response', "invalid size 'lots'"],
  ])('%j', (block, where, message) => {
    const result = errors(`${block}\nroutes: [{ id: a, path: /a, echo: true }]\n`);
    expect(result).toHaveLength(1);
    expect(result[0]).toMatch(new RegExp(`^${escapeRegExp(where)}: ${escapeRegExp(message)}, expected `));
  });

  it('a bad duration in a route names the route', () => {
    expect(errors(oneRoute('    timeouts: { attempt: fast }'))).toEqual([
      "6:17 routes[0].timeouts.attempt: invalid duration 'fast', expected a number of milliseconds or e.g. 500ms, 10s, 5m, 1h, 7d",
    ]);
  });
});

describe('routes', () => {
  it('duplicate route ids are rejected, pointing at the second one', () => {
    const source = yaml(
      'routes:',
      '  - { id: orders, path: /a, echo: true }',
      '  - { id: other, path: /b, echo: true }',
      '  - { id: orders, path: /c, echo: true }',
    );
    expect(errors(source)).toEqual(["4:7 routes[2].id: duplicate route id 'orders' (also routes[0])"]);
  });

  it('two routes with the same method and path shape are rejected, whatever the parameter names', () => {
    const source = yaml(
      'routes:',
      '  - { id: a, path: /in/:tenant/orders, methods: [POST, PUT], echo: true }',
      '  - { id: b, path: /in/:customer/orders/, methods: [put], echo: true }',
    );
    expect(errors(source)).toEqual([
      '3:14 routes[1].path: PUT /in/:customer/orders/ is already handled by routes[0]',
    ]);
  });

  it('the same path with different methods, or a literal beside a parameter, is fine', () => {
    const config = parse(
      yaml(
        'routes:',
        '  - { id: a, path: /in/orders, methods: [POST], echo: true }',
        '  - { id: b, path: /in/orders, methods: [GET, DELETE], echo: true }',
        '  - { id: c, path: /in/:tenant, echo: true }',
      ),
    );
    expect(config.routes.map((r) => r.methods)).toEqual([['POST'], ['GET', 'DELETE'], ['POST']]);
  });

  it.each(['/healthz', '/readyz', '/metrics', '/metrics/'])('%s is reserved', (path) => {
    expect(errors(yaml('routes:', `  - { id: a, path: ${path}, echo: true }`))).toEqual([
      `2:14 routes[0].path: '${path}' is served by hookrelay itself (/healthz, /readyz, /metrics)`,
    ]);
  });

  it('the reserved metrics path follows metrics.path, and is free when metrics are off', () => {
    expect(
      errors(yaml('metrics: { path: /prom }', 'routes:', '  - { id: a, path: /prom, echo: true }')),
    ).toEqual(["3:14 routes[0].path: '/prom' is served by hookrelay itself (/healthz, /readyz, /prom)"]);
    const config = parse(
      yaml('metrics: { enabled: false }', 'routes: [{ id: a, path: /metrics, echo: true }]'),
    );
    expect(config.routes[0]!.path).toBe('/metrics');
  });

  it('a route needs exactly one of forward or echo', () => {
    expect(errors(yaml('routes:', '  - id: a', '    path: /a'))).toEqual([
      '2:5 routes[0]: a route needs exactly one of `forward`, `targets` or `echo: true`',
    ]);
    expect(errors(oneRoute('    echo: true'))).toEqual([
      '2:5 routes[0]: a route needs exactly one of `forward`, `targets` or `echo: true`',
    ]);
    expect(errors(yaml('routes:', '  - { id: a, path: /a, echo: false }'))).toHaveLength(1);
  });

  it.each([
    ['/in/:tenant/:tenant', "parameter ':tenant' appears twice"],
    ['in/orders', "must start with '/', got 'in/orders'"],
    ['/in//orders', "invalid path segment '' in '/in//orders'"],
    ['/in/:1x', "invalid parameter ':1x', expected ':name'"],
    ['/in/orders?x=1', 'must not contain a query or fragment'],
  ])('path %j is rejected', (path, message) => {
    expect(errors(yaml('routes:', `  - { id: a, path: "${path}", echo: true }`))).toEqual([
      `2:14 routes[0].path: ${message}`,
    ]);
  });

  it('route ids and methods are validated', () => {
    expect(
      errors(yaml('routes:', '  - { id: "my route", path: /a, methods: [POST, FETCH], echo: true }')),
    ).toEqual([
      '2:7 routes[0].id: must be 1-64 letters, digits, ".", "_" or "-" (it is a metrics label)',
      '2:49 routes[0].methods[1]: must be one of GET, POST, PUT, PATCH, DELETE',
    ]);
  });

  it('methods default to POST and are upper-cased', () => {
    const config = parse(
      yaml(
        'routes:',
        '  - { id: a, path: /a, echo: true }',
        '  - { id: b, path: /b, methods: [put, Get], echo: true }',
      ),
    );
    expect(config.routes.map((r) => r.methods)).toEqual([['POST'], ['PUT', 'GET']]);
  });

  it('an unknown auth type names the known ones', () => {
    expect(errors(oneRoute('      auth: { type: oauth3, token: x }'))).toEqual([
      "6:15 routes[0].forward.auth.type: unknown type 'oauth3', expected one of: basic, bearer, header, query, oauth2",
    ]);
  });

  it('a missing required key says so', () => {
    expect(errors(oneRoute('      auth: { type: basic, username: u }'))).toEqual([
      '6:7 routes[0].forward.auth.password: required key is missing (expected string)',
    ]);
  });

  it('a value of the wrong type names the expected type', () => {
    expect(errors(oneRoute('    echo: "yes"'))).toContain('6:5 routes[0].echo: expected boolean, got string');
    expect(errors(yaml('server: { port: http }', 'routes: [{ id: a, path: /a, echo: true }]'))).toEqual([
      "1:11 server.port: expected number, got 'http'",
    ]);
  });

  it('header names are validated in static headers and passHeaders', () => {
    expect(
      errors(oneRoute('      headers: { "bad header": x }', '      passHeaders: [ok, "no:colon"]')),
    ).toEqual([
      '6:18 routes[0].forward.headers["bad header"]: invalid key \'bad header\': must be a valid HTTP header name',
      '7:25 routes[0].forward.passHeaders[1]: must be a valid HTTP header name',
    ]);
  });

  it('retryOn takes statuses and classes', () => {
    expect(errors(oneRoute('    retry: { retryOn: [503, 6xx, 42] }'))).toEqual([
      '6:29 routes[0].retry.retryOn[1]: must be like 5xx',
      '6:34 routes[0].retry.retryOn[2]: Too small: expected number to be >=100',
    ]);
  });
});

describe('defaults and per-route overrides (compiled)', () => {
  const source = yaml(
    'defaults:',
    '  timeouts: { attempt: 2s, deadline: 20s }',
    '  retry: { attempts: 5, minDelay: 100ms, retryOn: [503] }',
    '  limits: { body: 64kb }',
    'routes:',
    '  - id: plain',
    '    path: /plain',
    '    forward: { url: "https://api.example.com/plain" }',
    '  - id: custom',
    '    path: /custom',
    '    forward: { url: "https://api.example.com/custom" }',
    '    timeouts: { attempt: 500ms }',
    '    retry: { attempts: 1, retryOn: [429, 5xx] }',
    '    limits: { body: 1mb, response: 1kb }',
  );
  const [plain, custom] = compileRoutes(parse(source)) as SyncRoute[];

  it('a route without overrides gets the defaults block, and built-in defaults for the rest', () => {
    expect(plain!.timeouts).toEqual({ connect: 5_000, attempt: 2_000, deadline: 20_000 });
    expect(plain!.limits).toEqual({ body: 64 * 1024, response: 10 * 1024 * 1024, jsonDepth: 64 });
    expect(plain!.retry).toMatchObject({
      attempts: 5,
      minDelay: 100,
      maxDelay: 10_000,
      factor: 2,
      jitter: true,
    });
    expect([503, 502, 429, 408].map(plain!.retry.retryOn)).toEqual([true, false, false, false]);
  });

  it('a route overrides single keys and inherits the others', () => {
    expect(custom!.timeouts).toEqual({ connect: 5_000, attempt: 500, deadline: 20_000 });
    expect(custom!.limits).toEqual({ body: 1024 * 1024, response: 1024, jsonDepth: 64 });
    expect(custom!.retry).toMatchObject({ attempts: 1, minDelay: 100, maxDelay: 10_000 });
    expect([429, 500, 599, 408, 404].map(custom!.retry.retryOn)).toEqual([true, true, true, false, false]);
  });

  it('with no defaults block at all, the built-in defaults apply', () => {
    const [route] = compileRoutes(
      parse(yaml('routes: [{ id: a, path: /a, forward: { url: "http://x.test/" } }]')),
    ) as SyncRoute[];
    expect(route!.timeouts).toEqual({ connect: 5_000, attempt: 10_000, deadline: 30_000 });
    expect(route!.limits).toEqual({ body: 1024 * 1024, response: 10 * 1024 * 1024, jsonDepth: 64 });
    expect(route!.retry).toMatchObject({
      attempts: 3,
      minDelay: 200,
      maxDelay: 10_000,
      factor: 2,
      jitter: true,
    });
    expect([408, 429, 500, 503, 400, 404].map(route!.retry.retryOn)).toEqual([
      true,
      true,
      true,
      true,
      false,
      false,
    ]);
  });

  it('compiles headers lower-cased and auth once', () => {
    const [route] = compileRoutes(
      parse(
        oneRoute(
          '      headers: { X-Source: erp }',
          '      passHeaders: [X-Erp-Event]',
          '      auth: { type: bearer, token: t0ken }',
          '    respond: { status: 202, contentType: text/xml, body: "<ack id=\\"{requestId}\\"/>" }',
        ),
      ),
    ) as SyncRoute[];
    expect(route!.forward!.headers).toEqual({ 'x-source': 'erp' });
    expect([...route!.forward!.passHeaders!]).toEqual(['x-erp-event']);
    expect(route!.forward!.auth).toBeDefined();
    expect(route!.respond).toMatchObject({ status: 202, headers: { 'content-type': 'text/xml' } });
    // `{requestId}` (the older spelling) compiles to the same template as `{{ requestId }}`.
    expect(route!.respond!.body!.parts).toEqual([
      { literal: '<ack id="' },
      { root: 'requestId', keys: [] },
      { literal: '"/>' },
    ]);
  });

  it('server, log and metrics have defaults', () => {
    const config = parse(yaml('routes: [{ id: a, path: /a, echo: true }]'));
    expect(config.server).toEqual({
      host: '0.0.0.0',
      port: 8080,
      shutdownGrace: 10_000,
      watchConfig: false,
      requestIdHeader: 'x-request-id',
      maxHeaderSize: 16 * 1024,
      headersTimeout: 10_000,
      requestTimeout: 60_000,
      keepAliveTimeout: 65_000,
      maxConcurrentRequests: 1_000,
      firstByteTimeout: 5_000,
      maxConnections: 'auto',
      minBodyRate: { bytesPerSecond: 500, grace: 10_000 },
      perClient: {
        maxConnections: 'auto',
        maxConcurrentRequests: 'auto',
        ipv6Prefix: 64,
        trustedProxies: [],
      },
    });
    expect(config.log).toEqual({ level: 'info' });
    expect(config.metrics).toEqual({ enabled: true, path: '/metrics' });
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
