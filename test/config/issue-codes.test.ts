import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfigWithWarnings } from '../../src/config/load.ts';
import { CONFIG_CODES, type ConfigCode } from '../../src/core/config-codes.ts';
import { ConfigError, type ConfigIssue, formatConfigIssue } from '../../src/core/errors.ts';

/** Every config code is given by some invalid file: one small document per code, and its code. */

const dir = mkdtempSync(join(tmpdir(), 'hookrelay-codes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;

/** A valid route, with `extra` lines indented under it. */
const route = (...extra: string[]) =>
  yaml(
    'routes:',
    '  - id: orders',
    '    path: /in/orders',
    '    forward:',
    '      url: https://example.com/hook',
    ...extra.map((l) => `    ${l}`),
  );

const ERRORS_BY_CODE: [ConfigCode, string][] = [
  ['HOOKRELAY_CONFIG_YAML_SYNTAX', 'routes: [\n  - id: x\n'],
  ['HOOKRELAY_CONFIG_ENV_NOT_SET', route('retry: { attempts: "${CODES_TEST_UNSET}" }')],
  ['HOOKRELAY_CONFIG_SECRET_FILE_UNREADABLE', route('retry: { attempts: "${file:/nonexistent/hookrelay}" }')],
  ['HOOKRELAY_CONFIG_INTERPOLATION_SYNTAX', route('retry: { attempts: "${A:-${B}}" }')],
  ['HOOKRELAY_CONFIG_UNKNOWN_KEY', route('bogus: 1')],
  ['HOOKRELAY_CONFIG_MISSING_KEY', yaml('routes:', '  - path: /in/orders', '    echo: true')],
  ['HOOKRELAY_CONFIG_INVALID_TYPE', route('methods: POST')],
  ['HOOKRELAY_CONFIG_UNKNOWN_TYPE', route('verify:', '  - type: nope')],
  ['HOOKRELAY_CONFIG_INVALID_VALUE', route('timeouts: { attempt: soon }')],
  [
    'HOOKRELAY_CONFIG_INVALID_FORMAT',
    route().replace(
      'url: https://example.com/hook',
      'url: https://example.com/hook\n      auth: { type: oauth2, tokenUrl: not-a-url, clientId: a, clientSecret: "${file:/dev/null}" }',
    ),
  ],
  ['HOOKRELAY_CONFIG_OUT_OF_RANGE', route('retry: { attempts: 0 }')],
  ['HOOKRELAY_CONFIG_CONFLICT', route('echo: true')],
  [
    'HOOKRELAY_CONFIG_DUPLICATE',
    yaml('routes:', '  - { id: a, path: /a, echo: true }', '  - { id: a, path: /b, echo: true }'),
  ],
  ['HOOKRELAY_CONFIG_RESERVED', yaml('routes:', '  - { id: a, path: /metrics, echo: true }')],
  ['HOOKRELAY_CONFIG_INVALID_EXPRESSION', route('respond: { status: 200, body: "{{ unclosed" }')],
  [
    'HOOKRELAY_CONFIG_INSECURE',
    yaml('admin: { enabled: true, host: 0.0.0.0 }', 'routes:', '  - { id: a, path: /a, echo: true }'),
  ],
];

function codesOf(source: string): ConfigCode[] {
  try {
    parseConfigWithWarnings(source, 'hookrelay.yaml', { env: {} });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.issues.map((i) => i.code);
  }
  return [];
}

describe('config issue codes', () => {
  it.each(ERRORS_BY_CODE)('%s is given by an invalid file', (code, source) => {
    expect(codesOf(source)).toContain(code);
  });

  it('a file that cannot be read is HOOKRELAY_CONFIG_FILE_UNREADABLE', () => {
    let issues: ConfigIssue[] = [];
    try {
      loadConfigFile(join(dir, 'missing.yaml'));
    } catch (error) {
      issues = (error as ConfigError).issues;
    }
    expect(issues.map((i) => i.code)).toEqual(['HOOKRELAY_CONFIG_FILE_UNREADABLE']);
  });

  it('a secret written literally is the warning HOOKRELAY_CONFIG_LITERAL_SECRET', () => {
    const { warnings } = parseConfigWithWarnings(
      route('auth: { type: bearer, token: sk_live_4eC39HqLyjWDarjtT1zdp7dc }').replace(
        '    auth',
        '      auth',
      ),
      'hookrelay.yaml',
      { env: {} },
    );
    expect(warnings.map((w) => w.code)).toEqual(['HOOKRELAY_CONFIG_LITERAL_SECRET']);
  });

  it('every code in the list is covered by this table', () => {
    const covered = new Set<string>([
      ...ERRORS_BY_CODE.map(([code]) => code),
      'HOOKRELAY_CONFIG_FILE_UNREADABLE',
      'HOOKRELAY_CONFIG_LITERAL_SECRET',
    ]);
    expect(Object.keys(CONFIG_CODES).filter((c) => !covered.has(c))).toEqual([]);
  });

  it('each issue is printed with its code after the message', () => {
    try {
      parseConfigWithWarnings(route('bogus: 1'), 'my.yaml', { env: {} });
    } catch (error) {
      expect((error as ConfigError).issues.map(formatConfigIssue)).toEqual([
        "my.yaml:6:5: routes[0].bogus: unknown key 'bogus' [HOOKRELAY_CONFIG_UNKNOWN_KEY]",
      ]);
      return;
    }
    throw new Error('expected the config to be rejected');
  });
});

/** The text of the call opening at `start` (the index of its `(`), up to the matching `)`. */
function callAt(text: string, start: number): string {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return text.slice(start, i + 1);
  }
  return text.slice(start);
}

describe('custom issues in the sources', () => {
  const root = join(import.meta.dirname, '../../src');
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(root, f));

  it('each addIssue and refine names its code (params: configCode(...))', () => {
    const unnamed: string[] = [];
    let seen = 0;
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/\.(addIssue|refine)\(/g)) {
        seen++;
        const call = callAt(text, match.index + match[0].length - 1);
        if (!call.includes('params: configCode(')) {
          const line = text.slice(0, match.index).split('\n').length;
          unnamed.push(`${relative(root, file)}:${line}`);
        }
      }
    }
    expect(seen).toBeGreaterThan(50);
    expect(unnamed).toEqual([]);
  });
});
