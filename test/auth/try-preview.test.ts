import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startTokenServer, type TokenServer } from './token-server.ts';

/** `hookrelay try` (a real child process) with OAuth2 credentials and signatures: shown, never leaked. */

const ROOT = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'hookrelay-try-auth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SECRETS = {
  OAUTH_SECRET: 'oauth-client-s3cret',
  SW_SECRET: `whsec_${Buffer.from('try-preview-standard-webhooks-k').toString('base64')}`,
  MAC_SECRET: 'mac-s3cret-value',
};

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { HOOKRELAY_CONFIG: _ignored, ...base } = process.env;
  return new Promise((done) => {
    const child = execFile(
      process.execPath,
      ['src/main.ts', ...args],
      { cwd: ROOT, env: { ...base, ...SECRETS }, timeout: 15_000 },
      (error, stdout, stderr) => {
        done({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
      },
    );
    child.stdin!.end('{"order":42}');
  });
}

describe('hookrelay try with oauth2 and forward.sign', () => {
  let tokens: TokenServer;
  afterEach(async () => {
    await tokens?.close();
  });

  it('shows where credentials and signatures go, redacted, without contacting the token endpoint', async () => {
    tokens = await startTokenServer();
    const config = join(dir, 'try.yaml');
    writeFileSync(
      config,
      `routes:
  - id: signed
    path: /in/signed
    forward:
      url: https://api.example.com/hook
      auth: { type: oauth2, tokenUrl: "${tokens.url}", clientId: relay, clientSecret: "\${OAUTH_SECRET}" }
      sign:
        - { type: standard-webhooks, secrets: ["\${SW_SECRET}"] }
        - { type: hmac, header: X-Mac, signed: "{timestamp}.{body}", timestampHeader: X-Mac-Time, secret: "\${MAC_SECRET}" }
`,
    );
    const result = await cli(['try', '-c', config, '--route', 'signed', '-t', 'application/json', '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const shown = JSON.parse(result.stdout) as { headers: Record<string, string>; body: string };
    expect(shown.headers).toMatchObject({
      authorization: 'Bearer <redacted>',
      'webhook-signature': '<redacted>',
      'x-mac': '<redacted>',
    });
    // The message id and timestamps are not secrets: shown, so the user sees what is signed.
    expect(shown.headers['webhook-id']).toMatch(/^try-/);
    expect(shown.headers['webhook-timestamp']).toMatch(/^\d{10}$/);
    expect(shown.headers['x-mac-time']).toMatch(/^\d{10}$/);
    expect(tokens.requests).toHaveLength(0);
    for (const secret of Object.values(SECRETS)) expect(result.stdout).not.toContain(secret);
  });
});
