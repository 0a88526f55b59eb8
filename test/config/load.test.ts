import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig } from '../../src/config/load.ts';
import { ConfigError, type ConfigIssue, formatConfigIssue } from '../../src/core/errors.ts';

/** Loading a file: YAML syntax, interpolation, and how every problem is located and reported. */

const dir = mkdtempSync(join(tmpdir(), 'hookrelay-load-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;

function issuesOf(source: string, env: Record<string, string> = {}, file = 'hookrelay.yaml'): ConfigIssue[] {
  try {
    parseConfig(source, file, { env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues;
  }
  throw new Error('expected the config to be rejected');
}

describe('interpolation', () => {
  const route = (url: string, token = 'unused') =>
    yaml(
      'routes:', // 1
      '  - id: orders', // 2
      '    path: /in/orders', // 3
      '    forward:', // 4
      `      url: ${url}`, // 5
      `      auth: { type: bearer, token: "${token}" }`, // 6
    );

  it('a missing variable is an error that names it, at the value that uses it', () => {
    expect(issuesOf(route('https://${TARGET_HOST}/hook'))).toEqual([
      {
        file: 'hookrelay.yaml',
        line: 5,
        column: 7,
        path: 'routes[0].forward.url',
        code: 'HOOKRELAY_CONFIG_ENV_NOT_SET',
        message: "environment variable 'TARGET_HOST' is not set",
      },
    ]);
  });

  it('every missing variable is reported, not only the first', () => {
    const issues = issuesOf(route('https://${TARGET_HOST}/hook', '${TARGET_TOKEN}'));
    expect(issues.map(formatConfigIssue)).toEqual([
      "hookrelay.yaml:5:7: routes[0].forward.url: environment variable 'TARGET_HOST' is not set [HOOKRELAY_CONFIG_ENV_NOT_SET]",
      "hookrelay.yaml:6:29: routes[0].forward.auth.token: environment variable 'TARGET_TOKEN' is not set [HOOKRELAY_CONFIG_ENV_NOT_SET]",
    ]);
  });

  it('an empty variable is set (only `:-` treats empty as missing)', () => {
    const config = parseConfig(route('https://example.com/${SUFFIX}'), 'x.yaml', { env: { SUFFIX: '' } });
    expect(config.routes[0]!.forward!.url).toBe('https://example.com/');
  });

  it('${VAR:-default} uses the variable when set and the default otherwise', () => {
    const source = yaml(
      'server:',
      '  port: ${PORT:-8080}',
      'routes:',
      '  - id: orders',
      '    path: /in/orders',
      '    forward:',
      '      url: ${TARGET_URL:-http://127.0.0.1:9000/hook}',
    );
    const defaults = parseConfig(source, 'x.yaml', { env: {} });
    expect(defaults.server.port).toBe(8080);
    expect(defaults.routes[0]!.forward!.url).toBe('http://127.0.0.1:9000/hook');
    const set = parseConfig(source, 'x.yaml', {
      env: { PORT: '9999', TARGET_URL: 'https://api.example.com/hook' },
    });
    expect(set.server.port).toBe(9999);
    expect(set.routes[0]!.forward!.url).toBe('https://api.example.com/hook');
  });

  it('reads ${file:...} secrets from disk, without the trailing newline', () => {
    const secret = join(dir, 'token');
    writeFileSync(secret, 'file-s3cret\n');
    const config = parseConfig(route('https://example.com/hook', `\${file:${secret}}`), 'x.yaml', {
      env: {},
    });
    expect(config.routes[0]!.forward!.auth).toEqual({ type: 'bearer', token: 'file-s3cret' });
  });

  it('a missing secret file is an error naming the file, not its content', () => {
    const missing = join(dir, 'no-such-secret');
    expect(issuesOf(route('https://example.com/hook', `\${file:${missing}}`)).map(formatConfigIssue)).toEqual(
      [
        `hookrelay.yaml:6:29: routes[0].forward.auth.token: cannot read secret file '${missing}': ENOENT [HOOKRELAY_CONFIG_SECRET_FILE_UNREADABLE]`,
      ],
    );
  });

  it('reports malformed interpolation', () => {
    expect(issuesOf(route('https://example.com/${NOT CLOSED'))[0]).toMatchObject({
      path: 'routes[0].forward.url',
      line: 5,
      message: expect.stringContaining("invalid interpolation '${NOT CLOSED'"),
    });
  });

  it('values from the environment are validated like written ones', () => {
    expect(issuesOf(route('${TARGET_URL}'), { TARGET_URL: 'not-a-url' })).toEqual([
      expect.objectContaining({
        line: 5,
        path: 'routes[0].forward.url',
        message: "must be an absolute http(s) URL, got 'not-a-url'",
      }),
    ]);
  });
});

describe('YAML syntax', () => {
  it('invalid YAML is one error with the position of the problem', () => {
    const issues = issuesOf(yaml('routes:', '  - id: a', '   path: /a'));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ file: 'hookrelay.yaml', line: 3, path: '(root)' });
    expect(issues[0]!.message).toMatch(/^invalid YAML: /);
  });

  it('an unclosed flow mapping is a syntax error', () => {
    const issues = issuesOf(yaml('server: { port: 8080', 'routes: []'));
    expect(issues).toHaveLength(1);
    expect(issues[0]!.message).toMatch(/^invalid YAML: /);
    expect(issues[0]!.line).toBeGreaterThanOrEqual(1);
  });

  it('an unquoted ${VAR} inside a flow list gets a hint on how to write it', () => {
    const issues = issuesOf(
      yaml(
        'routes:',
        '  - id: a',
        '    path: /a',
        '    verify:',
        '      - { type: github, secrets: [${A}, ${B}] }',
      ),
    );
    expect(issues).toHaveLength(1);
    expect(issues[0]!.message).toMatch(/^invalid YAML: .*quote each \$\{…\}/);
    const plain = issuesOf(yaml('server: { port: 8080', 'routes: []'));
    expect(plain[0]!.message).not.toMatch(/quote each/);
  });

  it('duplicate keys are rejected by the YAML reader', () => {
    const issues = issuesOf(yaml('server:', '  port: 1', '  port: 2', 'routes: []'));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({
      line: 3,
      message: expect.stringMatching(/invalid YAML: .*duplicated/),
    });
  });

  it('an empty file is rejected', () => {
    expect(issuesOf('')).toHaveLength(1);
  });

  it('a document that is not a mapping is rejected', () => {
    expect(issuesOf(yaml('- just', '- a list'))[0]).toMatchObject({ path: '(root)' });
    expect(issuesOf('hello\n')[0]).toMatchObject({ path: '(root)' });
  });

  it('a file without routes says so', () => {
    expect(issuesOf(yaml('routes: []')).map(formatConfigIssue)).toEqual([
      'hookrelay.yaml:1:1: routes: at least one route is required [HOOKRELAY_CONFIG_OUT_OF_RANGE]',
    ]);
    expect(issuesOf(yaml('server: { port: 8080 }'))).toEqual([
      expect.objectContaining({ path: 'routes', message: expect.stringContaining('expected array') }),
    ]);
  });
});

describe('several errors at once', () => {
  it('reports every problem in the file in one go, each with its location', () => {
    const source = yaml(
      'servr:', // 1: unknown top-level key
      '  port: 8080', // 2
      'defaults:', // 3
      '  retry: { atempts: 3 }', // 4: unknown nested key
      'routes:', // 5
      '  - id: orders', // 6
      '    path: /in/orders', // 7
      '    forward:', // 8
      '      url: ftp://example.com/hook', // 9: bad URL
      '    timeouts: { attempt: 10 sec }', // 10: bad duration
      '  - id: orders', // 11: duplicate id
      '    path: /in/other', // 12
      '    forwrd:', // 13: typo
      '      url: https://example.com/', // 14
    );
    const issues = issuesOf(source);
    const byPath = Object.fromEntries(issues.map((i) => [i.path, `${i.line}:${i.column} ${i.message}`]));
    expect(byPath).toEqual({
      servr: "1:1 unknown key 'servr'",
      'defaults.retry.atempts': "4:12 unknown key 'atempts'",
      'routes[0].forward.url': "9:7 must be an absolute http(s) URL, got 'ftp://example.com/hook'",
      'routes[0].timeouts.attempt': expect.stringMatching(/^10:17 invalid duration '10 sec'/),
      'routes[1].id': "11:5 duplicate route id 'orders' (also routes[0])",
      'routes[1].forwrd': "13:5 unknown key 'forwrd'",
      'routes[1]': '11:5 a route needs exactly one of `forward`, `targets` or `echo: true`',
    });
    expect(issues).toHaveLength(7);
  });

  it('missing variables and schema errors are reported together', () => {
    const issues = issuesOf(
      yaml(
        'server:',
        '  port: ${PORT}', // 2: missing, and not reported again as "expected number"
        '  hots: 0.0.0.0', // 3
        'routes:',
        '  - id: orders',
        '    path: /in/orders',
        '    forward:',
        '      url: https://example.com/hook',
        '      auth: { type: "${AUTH_TYPE}", token: t }', // 9: missing, no "unknown type" on top
      ),
    );
    expect(issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`)).toEqual([
      "2:3 server.port: environment variable 'PORT' is not set",
      "9:15 routes[0].forward.auth.type: environment variable 'AUTH_TYPE' is not set",
      "3:3 server.hots: unknown key 'hots'",
    ]);
  });

  it('route checks still run when another field of the route is invalid', () => {
    const issues = issuesOf(
      yaml(
        'routes:',
        '  - id: a',
        '    path: no-slash', // 3
        '    methods: [FETCH]', // 4
        '    limits: { body: 1 zb }', // 5
        '    forward:',
        '      url: https://{host}.example.com/', // 7
      ),
    );
    expect(issues.map((i) => `${i.line} ${i.path}`).sort()).toEqual([
      '3 routes[0].path',
      '4 routes[0].methods[0]',
      '5 routes[0].limits.body',
      '7 routes[0].forward.url',
    ]);
  });

  it('ConfigError.message lists one `file:line:col: path: message` line per issue', () => {
    try {
      parseConfig(yaml('routes:', '  - id: a', '    path: /a', '    echo: true', '    bogus: 1'), 'my.yaml');
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toBe(
        "my.yaml:5:5: routes[0].bogus: unknown key 'bogus' [HOOKRELAY_CONFIG_UNKNOWN_KEY]",
      );
    }
  });
});

describe('loadConfigFile', () => {
  it('loads a file from disk, with the file name in errors', () => {
    const good = join(dir, 'good.yaml');
    writeFileSync(good, yaml('routes:', '  - id: a', '    path: /a', '    echo: true'));
    expect(loadConfigFile(good, { env: {} }).routes[0]!.id).toBe('a');

    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, yaml('routes:', '  - id: a', '    path: /a', '    forward: { url: "${NOPE}" }'));
    expect(() => loadConfigFile(bad, { env: {} })).toThrow(
      `${bad}:4:16: routes[0].forward.url: environment variable 'NOPE' is not set`,
    );
  });

  it('a file that cannot be read is a config error, not a crash', () => {
    const missing = join(dir, 'missing.yaml');
    expect(() => loadConfigFile(missing)).toThrow(ConfigError);
    expect(() => loadConfigFile(missing)).toThrow(`${missing}: (root): cannot read config file: ENOENT`);
  });

  it('uses process.env when no env is given', () => {
    const file = join(dir, 'env.yaml');
    writeFileSync(
      file,
      yaml('routes:', '  - id: a', '    path: /a', '    forward: { url: "${HOOKRELAY_TEST_URL}" }'),
    );
    process.env.HOOKRELAY_TEST_URL = 'https://example.com/from-env';
    try {
      expect(loadConfigFile(file).routes[0]!.forward!.url).toBe('https://example.com/from-env');
    } finally {
      delete process.env.HOOKRELAY_TEST_URL;
    }
  });
});
