import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/** `hookrelay try` and `hookrelay test` on a route with a handshake, as real child processes. */

const ROOT = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'hookrelay-handshake-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ENV = { META_VERIFY_TOKEN: 'meta-verify-s3cret', SLACK_SIGNING_SECRET: 'slack-signing-s3cret' };

function cli(args: string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { HOOKRELAY_CONFIG: _ignored, ...base } = process.env;
  return new Promise((done) => {
    const child = execFile(
      process.execPath,
      ['src/main.ts', ...args],
      { cwd: ROOT, env: { ...base, ...ENV }, timeout: 15_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        done({ code, stdout, stderr });
      },
    );
    child.stdin!.end(stdin);
  });
}

const CHALLENGE = '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P';
const SLACK_BODY = `{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"${CHALLENGE}","type":"url_verification"}`;

const config = join(dir, 'hookrelay.yaml');
writeFileSync(
  config,
  `routes:
  - id: slack
    path: /slack/events
    handshake: { type: slack }
    verify: [{ type: slack, secrets: ["\${SLACK_SIGNING_SECRET}"] }]
    forward: { url: "https://crm.example.com/slack" }
    tests:
      - name: url_verification is answered, not forwarded
        request:
          contentType: application/json
          body: '${SLACK_BODY}'
        expect:
          answer:
            status: 200
            headers: { content-type: text/plain; charset=utf-8 }
            body: ${CHALLENGE}
      - name: an event is forwarded
        request: { contentType: application/json, body: '{"type":"event_callback"}' }
        expect: { url: "https://crm.example.com/slack" }
  - id: meta
    path: /meta
    handshake: { type: meta, verifyToken: "\${META_VERIFY_TOKEN}" }
    forward: { url: "https://crm.example.com/meta" }
    tests:
      - name: the verification request
        request: { method: GET, query: "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meta-verify-s3cret" }
        expect: { answer: { status: 200, body: "1158201444" } }
      - name: a wrong verify token
        request: { method: GET, query: "hub.mode=subscribe&hub.challenge=1&hub.verify_token=guess" }
        expect: { error: HOOKRELAY_ERR_HANDSHAKE_REFUSED }
      - name: a GET that is not the handshake
        request: { method: GET }
        expect: { error: HOOKRELAY_ERR_METHOD_NOT_ALLOWED }
`,
);

describe('hookrelay try / test with a handshake', () => {
  it('try shows the answer and that nothing would be forwarded', async () => {
    const result = await cli(['try', '-c', config, '-r', 'slack', '-t', 'application/json'], SLACK_BODY);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      '# slack handshake: answered by the relay once the caller passed `verify`',
    );
    expect(result.stdout).toContain('nothing is forwarded');
    expect(result.stdout).toContain('200\ncache-control: no-store\n');
    expect(result.stdout).toContain(`\n${CHALLENGE}\n`);
    expect(result.stdout).not.toContain('crm.example.com');

    const json = await cli([
      'try',
      '-c',
      config,
      '-r',
      'meta',
      '-X',
      'GET',
      '--json',
      '-q',
      'hub.mode=subscribe&hub.challenge=42&hub.verify_token=meta-verify-s3cret',
    ]);
    expect(json.code).toBe(0);
    const view = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(view).toMatchObject({
      handshake: 'meta',
      signed: false,
      forwarded: false,
      answer: { status: 200, body: '42' },
    });
    // The configured token is never printed, not even the one the caller sent back.
    expect(json.stdout).not.toContain('meta-verify-s3cret');

    const refused = await cli([
      'try',
      '-c',
      config,
      '-r',
      'meta',
      '-X',
      'GET',
      '-q',
      'hub.mode=subscribe&hub.challenge=1',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'HOOKRELAY_ERR_HANDSHAKE_REFUSED: the relay would answer 403 and forward nothing',
    );
  });

  it('test checks expect.answer, and says so when a handshake answers a case expecting a forward', async () => {
    const result = await cli(['test', '-c', config]);
    expect(result.stdout).toContain('5 passed, 0 failed');
    expect(result.code).toBe(0);

    const wrong = join(dir, 'wrong.yaml');
    writeFileSync(
      wrong,
      `routes:
  - id: graph
    path: /graph
    handshake: { type: msgraph }
    forward: { url: "https://crm.example.com/graph" }
    tests:
      - name: expects a forward
        request: { query: validationToken=abc }
        expect: { url: "https://crm.example.com/graph" }
      - name: expects another answer
        request: { query: validationToken=abc }
        expect: { answer: { status: 202, body: xyz } }
      - name: expects an answer that is not given
        request: { body: "{}" }
        expect: { answer: { status: 200 } }
`,
    );
    const failed = await cli(['test', '-c', wrong]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain(
      'the msgraph handshake answers this call (200) and nothing would be forwarded: expect it with `expect.answer`',
    );
    expect(failed.stdout).toContain('answer status: expected 202, got 200');
    expect(failed.stdout).toContain('answer body: expected "xyz", got "abc"');
    expect(failed.stdout).toContain(
      'answer: expected the relay to answer by itself, but the request would be forwarded: POST https://crm.example.com/graph',
    );
    expect(failed.stdout).toContain('0 passed, 3 failed');
  });
});
