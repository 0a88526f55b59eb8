import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/core/errors.ts';
import { startTokenServer, type TokenServer } from '../auth/token-server.ts';
import type { Target } from '../helpers.ts';
import { identityApi } from './support.ts';

/** `hookrelay try` (with and without --fetch), `hookrelay test` with fixtures, and config errors. */

const ROOT = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'hookrelay-fetch-'));
const SECRET = 'client-secret-value';
let identity: Target;
let tokens: TokenServer;
let config: string;

function cli(args: string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { HOOKRELAY_CONFIG: _ignored, ...base } = process.env;
  return new Promise((done) => {
    const child = execFile(
      process.execPath,
      ['src/main.ts', ...args],
      { cwd: ROOT, env: { ...base, CLIENT_SECRET: SECRET }, timeout: 15_000 },
      (error, stdout, stderr) => {
        done({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
      },
    );
    child.stdin!.end(stdin);
  });
}

beforeAll(async () => {
  identity = await identityApi();
  tokens = await startTokenServer();
  config = join(dir, 'oneportal.yaml');
  writeFileSync(
    config,
    `routes:
  - id: oneportal
    path: /users/events
    forward:
      url: https://crm.example.com/contacts
      method: PATCH
    transform:
      - type: fetch
        url: ${identity.url}/users/{body.id}
        into: user
        auth: { type: oauth2, tokenUrl: ${tokens.url}, clientId: relay-client, clientSecret: "\${CLIENT_SECRET}" }
        answers:
          '4xx': { status: 422, body: 'no such user: {{ body.user.message }}', contentType: text/plain }
      - type: map
        fields: { externalId: id, email: user.email }
    tests:
      - name: a known user is mapped
        request: { body: '{"id":"U1","entityType":"USER"}', contentType: application/json }
        fetched:
          user: { json: { email: ada@example.com } }
        expect:
          method: PATCH
          json: { externalId: U1, email: ada@example.com }
      - name: an unknown user is answered 422
        request: { body: '{"id":"U2"}', contentType: application/json }
        fetched:
          user: { status: 404, json: { message: gone } }
        expect:
          answer: { status: 422, body: 'no such user: gone' }
`,
  );
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await Promise.all([identity.close(), tokens.close()]);
});

const EVENT = '{"id":"IDNUMBER1234","entityType":"USER","eventType":"UPDATE"}';

describe('hookrelay try with a fetch step', () => {
  it('shows the lookup it would make, credentials as placeholders, and stops there', async () => {
    const seen = identity.received.length;
    const result = await cli(['try', '-c', config, '--route', 'oneportal', '-t', 'application/json'], EVENT);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`GET ${identity.url}/users/IDNUMBER1234`);
    expect(result.stdout).toContain('authorization: Bearer <redacted>');
    expect(result.stdout).toContain('stopped here, nothing forwarded');
    expect(result.stdout).not.toContain(SECRET);
    expect(identity.received.length).toBe(seen);
    expect(tokens.requests.length).toBe(0);
  });

  it('with --fetch makes the lookup (token included) and shows the request for the target', async () => {
    const result = await cli(
      ['try', '-c', config, '--route', 'oneportal', '-t', 'application/json', '--fetch'],
      EVENT,
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('PATCH https://crm.example.com/contacts');
    expect(result.stdout).toContain('"email": "ada@example.com"');
    expect(tokens.requests.length).toBe(1);
    expect(result.stdout + result.stderr).not.toContain(SECRET);
    expect(result.stdout + result.stderr).not.toContain('tok-1');
  });

  it('with --fetch and an unknown user shows the configured answer', async () => {
    const result = await cli(
      ['try', '-c', config, '--route', 'oneportal', '-t', 'application/json', '--fetch'],
      '{"id":"NOBODY"}',
    );
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(
      /^# the `answers` of transform\[0\] \(fetch\): answered by the relay; nothing is forwarded\n422\n/,
    );
    expect(result.stdout).toContain('no such user: user NOBODY does not exist');
  });
});

describe('hookrelay test with fetched fixtures', () => {
  it('runs the cases offline', async () => {
    const seen = identity.received.length;
    const result = await cli(['test', '-c', config]);
    expect(result.stdout).toContain('2 passed, 0 failed');
    expect(result.code).toBe(0);
    expect(identity.received.length).toBe(seen);
  });

  it('says which fixture a case lacks', async () => {
    const file = join(dir, 'lacking.yaml');
    writeFileSync(
      file,
      `routes:
  - id: r
    path: /in
    forward: { url: https://crm.example.com/contacts }
    transform:
      - { type: fetch, url: 'https://id.example.com/users/{body.id}', into: user }
    tests:
      - name: no fixture
        request: { body: '{"id":"U1"}' }
        expect: { json: {} }
`,
    );
    const result = await cli(['test', '-c', file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('give its answer as `fetched.user`');
    expect(result.stdout).toContain('GET https://id.example.com/users/U1');
  });
});

describe('fetch config errors carry file:line', () => {
  function issues(yaml: string): string {
    try {
      parseConfig(yaml, 'test.yaml', { env: {} });
    } catch (error) {
      if (error instanceof ConfigError) return error.message;
      throw error;
    }
    return '';
  }

  it('refuses a templated host and a fetch in response.transform', () => {
    const message = issues(`routes:
  - id: r
    path: /in
    forward: { url: 'https://crm.example.com/contacts' }
    transform:
      - type: fetch
        url: 'https://{body.host}/users/{body.id}'
        into: user
    response:
      transform:
        - type: fetch
          url: 'https://id.example.com/users/{body.id}'
          into: user
`);
    expect(message).toContain(
      'test.yaml:7:9: routes[0].transform[0].url: placeholders may only appear in the path and query, not in the host',
    );
    expect(message).toMatch(
      /test\.yaml:11:\d+: routes\[0\]\.response\.transform\[0\]\.type: unknown type 'fetch'/,
    );
  });

  it('refuses an unknown placeholder, a bad answers key and a bad answer template', () => {
    const message = issues(`routes:
  - id: r
    path: /in
    forward: { url: 'https://crm.example.com/contacts' }
    transform:
      - type: fetch
        url: 'https://id.example.com/users/{id}'
        into: user
        answers:
          '2xx': { status: 200 }
          '404': { status: 404, body: '{{ nope }}' }
`);
    expect(message).toContain("routes[0].transform[0].url: unknown placeholder '{id}'");
    expect(message).toContain("must be a status like '404' or a class like '4xx'");
    expect(message).toContain('routes[0].transform[0].answers["404"].body: invalid template expression');
  });
});
