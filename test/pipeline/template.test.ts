import { describe, expect, it } from 'vitest';
import { parseUrlTemplate, renderUrlTemplate } from '../../src/pipeline/url-template.ts';

/** URL templates (src/config/url-template.ts): parsed at load, rendered per request by the pipeline. */
describe('parseUrlTemplate', () => {
  it.each([
    ['https://api.example.com/orders', [], 'https://api.example.com', true],
    ['http://127.0.0.1:8080/a/{tenant}', ['tenant'], 'http://127.0.0.1:8080', false],
    ['https://api.example.com/x?src={query.source}&k={query.a-b.c}', [], 'https://api.example.com', false],
    ['HTTPS://API.example.com:443/{id}', ['id'], 'https://api.example.com', false],
  ])('%s parses (origin %s)', (template, params, origin, isStatic) => {
    const parsed = parseUrlTemplate(template, params as string[]);
    expect(parsed.origin).toBe(origin);
    expect(parsed.isStatic).toBe(isStatic);
  });

  it('splits literals and placeholders', () => {
    expect(parseUrlTemplate('http://h/{a}/x/{query.q}', ['a']).parts).toEqual([
      { literal: 'http://h/' },
      { param: 'a' },
      { literal: '/x/' },
      { query: 'q' },
    ]);
  });

  it.each<[string, string[], string]>([
    ['ftp://files.example.com/x', ['tenant'], 'must be an absolute http(s) URL'],
    ['file:///etc/passwd', ['tenant'], 'must be an absolute http(s) URL'],
    ['/relative/path', ['tenant'], 'must be an absolute http(s) URL'],
    ['api.example.com/orders', ['tenant'], 'must be an absolute http(s) URL'],
    ['', ['tenant'], 'must be an absolute http(s) URL'],
    [
      'https://{tenant}.example.com/orders',
      ['tenant'],
      'placeholders may only appear in the path and query, not in the host',
    ],
    ['https://api.example.com:{port}/x', ['tenant'], 'not in the host'],
    ['https://api.example.com{path}', ['tenant'], 'not in the host'],
    ['https://{query.host}/x', ['tenant'], 'not in the host'],
    ['https://user:pw@api.example.com/x', ['tenant'], 'without credentials'],
    ['https://exa mple.com/x', ['tenant'], 'must be an absolute http(s) URL'],
    [
      'https://api.example.com/{nope}',
      [],
      "unknown placeholder '{nope}': path parameters of this route are none",
    ],
    [
      'https://api.example.com/{tenantt}',
      ['tenant'],
      "unknown placeholder '{tenantt}': path parameters of this route are {tenant}",
    ],
    ['https://api.example.com/{}', ['tenant'], "unknown placeholder '{}'"],
    ['https://api.example.com/{query.}', ['tenant'], "unknown placeholder '{query.}'"],
    ['https://api.example.com/{ tenant }', ['tenant'], "unknown placeholder '{ tenant }'"],
  ])('%j (params %o) is refused: %s', (template, params, message) => {
    expect(() => parseUrlTemplate(template, params)).toThrow(message);
  });
});

describe('renderUrlTemplate', () => {
  const t = parseUrlTemplate('https://api.example.com/{tenant}/orders?src={query.source}', ['tenant']);
  it.each([
    [{ tenant: 'acme' }, 'source=erp', 'https://api.example.com/acme/orders?src=erp'],
    [{ tenant: 'a;b' }, 'source=a%26b%3Dc', 'https://api.example.com/a%3Bb/orders?src=a%26b%3Dc'],
    [{ tenant: 'a' }, 'source=../x/..;y', 'https://api.example.com/a/orders?src=..%2Fx%2F..%3By'],
    [{ tenant: 'x?y#z' }, 'source=%23frag', 'https://api.example.com/x%3Fy%23z/orders?src=%23frag'],
    [{ tenant: 'zoë' }, 'source=a+b', 'https://api.example.com/zo%C3%AB/orders?src=a%20b'],
    [{}, '', 'https://api.example.com//orders?src='],
  ])('%o with ?%s → %s', (params, query, expected) => {
    const rendered = renderUrlTemplate(t, params, new URLSearchParams(query));
    expect(rendered).toBe(expected);
    expect(new URL(rendered).origin).toBe('https://api.example.com');
  });

  // A target that decodes `%2F`/`%5C` before routing, or a servlet container that cuts `;…` off a
  // segment before resolving dots, would otherwise see a path that walks up.
  it.each([
    ['a/b', 'a slash or backslash'],
    ['../admin', 'a slash or backslash'],
    ['..\\admin', 'a slash or backslash'],
    ['..;jsessionid=1', "the dot segment '..'"],
    ['..;', "the dot segment '..'"],
    ['.;x', "the dot segment '.'"],
    ['a\u0000b', 'a NUL byte'],
  ])('a path value %j is refused: %s', (tenant, reason) => {
    expect(() => renderUrlTemplate(t, { tenant }, new URLSearchParams())).toThrow(
      expect.objectContaining({
        code: 'HOOKRELAY_ERR_INVALID_PARAMETER',
        status: 400,
        message: expect.stringContaining(`the value of {tenant} holds ${reason}`),
      }),
    );
  });
});

describe('renderUrlTemplate and dot segments', () => {
  const t = parseUrlTemplate('https://api.example.com/api/{query.t}/orders', []);
  // A WHATWG URL parser removes `.`/`..` segments (also `%2e%2e`), so a value that renders to a
  // bare dot segment would walk up the target's path. It must be refused or neutralised.
  it.each(['.', '..'])('a value of %j cannot remove path segments', (value) => {
    let rendered: string;
    try {
      rendered = renderUrlTemplate(t, {}, new URLSearchParams({ t: value }));
    } catch {
      return;
    }
    expect(new URL(rendered).pathname).toMatch(/^\/api\/[^/]+\/orders$/);
  });
});
