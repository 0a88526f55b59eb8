import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseConfigWithWarnings } from '../../src/config/load.ts';
import { formatConfigIssue } from '../../src/core/errors.ts';
import { startTarget, type Target } from '../helpers.ts';

/**
 * Secrets written literally in the YAML (schema fields marked `secret`, credential headers sent to
 * the target) are reported as warnings with file:line:col and path, never with the value; the
 * config stays valid, and `validate` and `start` print them but carry on.
 */

const env = { TOKEN: 'from-env-0123456789', KEY: 'key-from-env-0123', S1: 'secret-one' };

function warnings(yaml: string): string[] {
  return parseConfigWithWarnings(yaml, 'hookrelay.yaml', {
    env,
    readFile: () => 'secret-from-file\n',
  }).warnings.map(formatConfigIssue);
}

const route = (forward: string, extra = '') => `routes:
  - id: r
    path: /in
${extra}    forward:
      url: http://127.0.0.1:9/hook
${forward}`;

const LITERAL = 'looks like a secret written literally; use ${VAR} or ${file:/path}';
const DEFAULT =
  'has a literal default (${VAR:-…}) for a secret; use ${VAR} or ${file:/path} without a default';

describe('literal secret warnings (loader)', () => {
  it('a literal outbound token: file:line:col, path and advice, never the value', () => {
    const got = warnings(route('      auth: { type: bearer, token: "tok-0123456789-literal" }\n'));
    expect(got).toEqual([
      `hookrelay.yaml:6:29: routes[0].forward.auth.token: ${LITERAL} [HOOKRELAY_CONFIG_LITERAL_SECRET]`,
    ]);
    expect(got.join('\n')).not.toContain('tok-0123456789');
  });

  it('${VAR}, ${file:…} and a reference inside text are not literal secrets', () => {
    expect(warnings(route('      auth: { type: bearer, token: "${TOKEN}" }\n'))).toEqual([]);
    expect(warnings(route('      auth: { type: bearer, token: "${file:/run/secrets/t}" }\n'))).toEqual([]);
    expect(warnings(route('      auth: { type: header, name: X-Key, value: "k_${KEY}" }\n'))).toEqual([]);
    expect(warnings(route('      headers: { Authorization: "Bearer ${TOKEN}" }\n'))).toEqual([]);
  });

  it('a ${VAR:-default} on a secret warns even when VAR is set; an escaped $${ is literal', () => {
    expect(warnings(route('      auth: { type: bearer, token: "${TOKEN:-devtoken}" }\n'))).toEqual([
      `hookrelay.yaml:6:29: routes[0].forward.auth.token: ${DEFAULT} [HOOKRELAY_CONFIG_LITERAL_SECRET]`,
    ]);
    expect(warnings(route('      auth: { type: bearer, token: "$${TOKEN}" }\n'))).toEqual([
      `hookrelay.yaml:6:29: routes[0].forward.auth.token: ${LITERAL} [HOOKRELAY_CONFIG_LITERAL_SECRET]`,
    ]);
  });

  it('verifier secrets: each literal item of a list, basic passwords; the admin token', () => {
    const yaml = `admin:
  token: admin-token-0123456789
${route(
  '',
  `    verify:
      - type: hmac
        header: X-Sig
        secrets:
          - \${S1}
          - rotated-literal-secret
      - type: basic
        users:
          - { username: erp, password: "\${PW:-hunter2hunter2}" }
      - type: apiKey
        header: X-Api-Key
        keys: [literal-api-key-1234]
`,
)}`;
    expect(warnings(yaml)).toEqual([
      `hookrelay.yaml:2:3: admin.token: ${LITERAL} [HOOKRELAY_CONFIG_LITERAL_SECRET]`,
      `hookrelay.yaml:11:13: routes[0].verify[0].secrets[1]: ${LITERAL} [HOOKRELAY_CONFIG_LITERAL_SECRET]`,
      `hookrelay.yaml:14:30: routes[0].verify[1].users[0].password: ${DEFAULT} [HOOKRELAY_CONFIG_LITERAL_SECRET]`,
      `hookrelay.yaml:17:16: routes[0].verify[2].keys[0]: ${LITERAL} [HOOKRELAY_CONFIG_LITERAL_SECRET]`,
    ]);
  });

  it('credential-like headers sent to the target: forward.headers and headers steps', () => {
    const yaml = route(
      `      headers:
        Authorization: Basic dXNlcjpwYXNzd29yZA==
        X-Api-Key: literal-key-0123
        X-Auth-Token: "\${TOKEN:-fallback-token-123}"
        X-Token-Type: jwt
        X-Source: legacy-erp-system
`,
      `    transform:
      - type: headers
        set:
          X-Session-Id: "{{ headers.x-session }}"
          Authorization: Bearer 0123456789abcdef
`,
    );
    expect(warnings(yaml)).toEqual([
      `hookrelay.yaml:8:11: routes[0].transform[0].set.Authorization: ${LITERAL} [HOOKRELAY_CONFIG_LITERAL_SECRET]`,
      `hookrelay.yaml:12:9: routes[0].forward.headers.Authorization: ${LITERAL} [HOOKRELAY_CONFIG_LITERAL_SECRET]`,
      `hookrelay.yaml:13:9: routes[0].forward.headers.X-Api-Key: ${LITERAL} [HOOKRELAY_CONFIG_LITERAL_SECRET]`,
      `hookrelay.yaml:14:9: routes[0].forward.headers.X-Auth-Token: ${DEFAULT} [HOOKRELAY_CONFIG_LITERAL_SECRET]`,
    ]);
  });

  it('non-secret fields may be literal: no warning for a plain config', () => {
    expect(
      warnings(
        route(
          '      headers: { X-Source: legacy-erp }\n      auth: { type: basic, username: relay-user, password: "${TOKEN}" }\n',
        ),
      ),
    ).toEqual([]);
  });

  it('an invalid config reports its errors, not warnings', () => {
    expect(() =>
      warnings(route('      auth: { type: bearer, token: "literal-0123456789" }\n      bogus: 1\n')),
    ).toThrow(/unknown key 'bogus'/);
  });
});

const ROOT = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'hookrelay-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const children: ChildProcess[] = [];
let target: Target | undefined;
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await target?.close();
  target = undefined;
});

function configFile(targetUrl: string): string {
  const file = join(dir, `c-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    `server: { port: 0, host: 127.0.0.1 }
queue: { driver: memory }
routes:
  - id: r
    path: /in
    forward:
      url: ${targetUrl}/hook
      auth: { type: bearer, token: very-secret-literal-token }
`,
  );
  return file;
}

function cleanEnv(): NodeJS.ProcessEnv {
  const { HOOKRELAY_CONFIG: _ignored, ...base } = process.env;
  return base;
}

describe('literal secret warnings (CLI)', () => {
  it('validate prints them on stderr and exits 0', async () => {
    const file = configFile('http://127.0.0.1:9');
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
      execFile(
        process.execPath,
        ['src/main.ts', 'validate', '-c', file],
        { cwd: ROOT, env: cleanEnv(), timeout: 15_000 },
        (error, stdout, stderr) => done({ code: error ? (error.code as number) : 0, stdout, stderr }),
      );
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${file}: OK (1 route)\n`);
    expect(result.stderr).toBe(
      `hookrelay: 1 warning\n${file}:8:29: routes[0].forward.auth.token: ${LITERAL} [HOOKRELAY_CONFIG_LITERAL_SECRET]\n`,
    );
    expect(result.stderr).not.toContain('very-secret');
  });

  it('start logs them at warn, then listens and relays all the same', async () => {
    target = await startTarget();
    const child = spawn(process.execPath, ['src/main.ts', 'start', '-c', configFile(target.url)], {
      cwd: ROOT,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const logs: Record<string, unknown>[] = [];
    const listening = new Promise<Record<string, unknown>>((resolveLine, reject) => {
      let buffered = '';
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        buffered += chunk;
        for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
          const line = JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>;
          buffered = buffered.slice(nl + 1);
          logs.push(line);
          if (line.msg === 'hookrelay listening') resolveLine(line);
        }
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code}`)));
    });
    const line = await listening;
    const warning = logs.find((l) => l.msg === 'configuration warning');
    expect(warning).toMatchObject({ level: 'warn' });
    expect(String(warning!.warning)).toMatch(/:8:29: routes\[0\]\.forward\.auth\.token: looks like a secret/);
    expect(JSON.stringify(logs)).not.toContain('very-secret');
    const res = await fetch(`http://127.0.0.1:${line.port}/in`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(200);
    expect(target.received[0]!.headers.authorization).toBe('Bearer very-secret-literal-token');
  });
});
