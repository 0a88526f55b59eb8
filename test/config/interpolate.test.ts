import { describe, expect, it } from 'vitest';
import { type ConfigPath, formatPath, interpolate } from '../../src/config/interpolate.ts';

const env = { HOST: 'api.example.com', EMPTY: '', PORT: '8443', TOKEN: 's3cr3t' };
const files: Record<string, string> = {
  '/run/secrets/token': 'file-token\n',
  '/run/secrets/crlf': 'crlf-token\r\n',
  '/run/secrets/two-newlines': 'abc\n\n',
  '/run/secrets/bare': 'bare',
  'relative/secret.txt': 'rel\n',
};
const readFile = (path: string): string => {
  if (Object.hasOwn(files, path)) return files[path];
  throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
};
const run = (value: unknown, extraEnv: Record<string, string | undefined> = {}) =>
  interpolate(value, { env: { ...env, ...extraEnv }, readFile });
const invalid = (expression: string) =>
  `invalid interpolation '${expression}', expected \${VAR}, \${VAR:-default} or \${file:/path}`;

/** The issue at `path` with `message`, and the code each kind of message comes with. */
const issue = (path: ConfigPath, message: string) => ({
  path,
  code: message.startsWith('invalid interpolation')
    ? 'HOOKRELAY_CONFIG_INTERPOLATION_SYNTAX'
    : message.startsWith('cannot read secret file')
      ? 'HOOKRELAY_CONFIG_SECRET_FILE_UNREADABLE'
      : 'HOOKRELAY_CONFIG_ENV_NOT_SET',
  message,
});

describe('interpolate strings', () => {
  it.each([
    ['no dollar at all', 'no dollar at all'],
    ['', ''],
    ['https://${HOST}:${PORT}/hook', 'https://api.example.com:8443/hook'],
    ['${TOKEN}', 's3cr3t'],
    ['[${EMPTY}]', '[]'],
    ['${MISSING:-fallback}', 'fallback'],
    ['${EMPTY:-fallback}', 'fallback'],
    ['${HOST:-fallback}', 'api.example.com'],
    ['${MISSING:-}', ''],
    ['${MISSING:-http://localhost:8080/x}', 'http://localhost:8080/x'],
    ['${file:/run/secrets/token}', 'file-token'],
    ['${file:/run/secrets/crlf}', 'crlf-token'],
    ['${file:/run/secrets/two-newlines}', 'abc\n'],
    ['${file:/run/secrets/bare}', 'bare'],
    ['${file:relative/secret.txt}', 'rel'],
    ['Bearer ${file:/run/secrets/token}', 'Bearer file-token'],
    ['$${HOST}', '${HOST}'],
    ['cost: $5 and $$ and $', 'cost: $5 and $$ and $'],
    ['$HOST', '$HOST'],
    ['a$${X}b${PORT}', 'a${X}b8443'],
  ])('%j → %j', (input, expected) => {
    expect(run(input)).toMatchObject({ value: expected, issues: [] });
  });

  it('reports every substituted value with where it went, for redaction', () => {
    const result = run({ a: 'x-${TOKEN}-${HOST}', b: ['$${TOKEN}', '${MISSING:-dflt}'], c: '${EMPTY}' });
    expect(result.substitutions).toEqual([
      { path: ['a'], value: 's3cr3t', offset: 2 },
      { path: ['a'], value: 'api.example.com', offset: 9 },
      { path: ['b', 1], value: 'dflt', offset: 0 },
    ]);
    // A string that failed keeps nothing: it is reported, and kept as written.
    expect(run({ a: '${TOKEN}${MISSING}' }).substitutions).toEqual([]);
  });

  it.each([
    ['${MISSING}', ["environment variable 'MISSING' is not set"]],
    ['${}', [invalid('${}')]],
    ['${1X}', [invalid('${1X}')]],
    ['x ${FOO', [invalid('${FOO')]],
    ['${FOO BAR}', [invalid('${FOO BAR}')]],
    ['${FOO:default}', [invalid('${FOO:default}')]],
    ['${A:-${B}}', [invalid('${A:-${B}')]],
    ['${file:}', [invalid('${file:}')]],
    ['${file:/nope}', ["cannot read secret file '/nope': ENOENT"]],
    [
      '${A} and ${B} and ${HOST}',
      ["environment variable 'A' is not set", "environment variable 'B' is not set"],
    ],
  ])('%j reports issues and keeps the original string', (input, messages) => {
    const result = run({ key: input });
    expect(result.value).toEqual({ key: input });
    expect(result.issues).toEqual(messages.map((message) => issue(['key'], message)));
  });

  it('treats an empty environment value as set', () => {
    expect(run('${X}', { X: '' })).toMatchObject({ value: '', issues: [] });
    expect(run('${X}', { X: undefined }).issues).toHaveLength(1);
  });

  it('does not resolve inherited object properties as variables', () => {
    expect(run('${constructor}').issues).toEqual([
      issue([], "environment variable 'constructor' is not set"),
    ]);
  });

  it('never puts file content in the message for a custom reader error', () => {
    const result = interpolate('${file:/x}', {
      env: {},
      readFile: () => {
        throw new Error('content: hunter2');
      },
    });
    expect(result.issues).toEqual([issue([], "cannot read secret file '/x': read error")]);
  });

  it('uses fs by default', () => {
    const result = interpolate('${file:/definitely/not/here}', { env: {} });
    expect(result.issues).toEqual([issue([], "cannot read secret file '/definitely/not/here': ENOENT")]);
  });
});

describe('interpolate documents', () => {
  it('walks objects and arrays, leaves keys and non-strings alone, and does not mutate the input', () => {
    const input = {
      '${HOST}': 'key is untouched',
      port: 8080,
      enabled: true,
      nothing: null,
      routes: [{ id: 'a', forward: { url: 'https://${HOST}/in', headers: ['x-${PORT}', 3] } }],
    };
    const snapshot = structuredClone(input);
    const result = run(input);
    expect(result.issues).toEqual([]);
    expect(result.value).toEqual({
      '${HOST}': 'key is untouched',
      port: 8080,
      enabled: true,
      nothing: null,
      routes: [{ id: 'a', forward: { url: 'https://api.example.com/in', headers: ['x-8443', 3] } }],
    });
    expect(input).toEqual(snapshot);
    expect(result.value).not.toBe(input);
  });

  it('collects every issue with its path', () => {
    const input = {
      server: { host: '${BIND}' },
      routes: [
        { id: 'a' },
        { id: 'b' },
        { id: 'c', forward: { url: '${1X}', auth: { token: '${file:/run/secrets/missing}' } } },
      ],
    };
    const result = run(input);
    expect(result.issues).toEqual([
      issue(['server', 'host'], "environment variable 'BIND' is not set"),
      issue(['routes', 2, 'forward', 'url'], invalid('${1X}')),
      issue(
        ['routes', 2, 'forward', 'auth', 'token'],
        "cannot read secret file '/run/secrets/missing': ENOENT",
      ),
    ]);
  });

  it('keeps a __proto__ key as data', () => {
    const input = JSON.parse('{"__proto__": {"polluted": "${HOST}"}}');
    const result = run(input).value as Record<string, unknown>;
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(Object.hasOwn(result, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('passes class instances through and survives cycles', () => {
    const date = new Date(0);
    const cyclic: Record<string, unknown> = { name: '${HOST}', date };
    cyclic.self = cyclic;
    const result = run(cyclic).value as Record<string, unknown>;
    expect(result.name).toBe('api.example.com');
    expect(result.date).toBe(date);
    expect(result.self).toBe(cyclic);
  });
});

describe('formatPath', () => {
  it.each([
    [[], '(root)'],
    [['server'], 'server'],
    [['routes', 2, 'forward', 'url'], 'routes[2].forward.url'],
    [[0, 'id'], '[0].id'],
    [['headers', 'X-Api-Key'], 'headers.X-Api-Key'],
    [['headers', 'a.b'], 'headers["a.b"]'],
    [['files', '/etc/x'], 'files["/etc/x"]'],
    [['a b', 'c'], '["a b"].c'],
    [['2'], '["2"]'],
    [['say "hi"'], '["say \\"hi\\""]'],
  ] as [ConfigPath, string][])('%j → %s', (path, expected) => {
    expect(formatPath(path)).toBe(expected);
  });
});
