import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * `hookrelay start` with a queue file it cannot open, as a real child process: one log line that
 * names the path and the reason, no stack trace, exit 1. We run as root in CI, where file modes
 * stop nothing, so the cases are ones that fail for root too.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'hookrelay-start-queue-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts the relay on `queuePath`; killed after 15 s should it neither exit nor fail. */
function start(queuePath: string, args: string[] = ['start']): Promise<Result> {
  const config = join(dir, `config-${++n}.yaml`);
  writeFileSync(
    config,
    `server: { host: 127.0.0.1, port: 0 }
queue: { path: ${JSON.stringify(queuePath)} }
admin: { enabled: false }
routes:
  - id: orders
    path: /in/orders
    delivery: async
    forward: { url: "http://127.0.0.1:9/hook" }
`,
  );
  const { HOOKRELAY_CONFIG: _ignored, ...env } = process.env;
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['src/main.ts', ...args, '-c', config],
      { cwd: ROOT, env, timeout: 15_000, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        done({ code, signal: error?.signal ?? null, stdout, stderr });
      },
    );
  });
}

/** Exit 1 and exactly one fatal line naming the path, whose message gives `reason`; no stack anywhere. */
function expectRefused(result: Result, queuePath: string, reason: RegExp): void {
  expect(result.signal, `killed: it hung (stderr: ${result.stderr})`).toBeNull();
  expect(result.code).toBe(1);
  expect(result.stderr).toBe('');
  expect(result.stdout).not.toMatch(/\n\s+at |\\n\s+at /);
  const lines = result.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const fatal = lines.filter((line) => line.level === 'fatal');
  expect(fatal).toHaveLength(1);
  expect(fatal[0]).toMatchObject({ msg: expect.stringContaining(queuePath), path: queuePath });
  expect(fatal[0]!.msg).toMatch(reason);
  expect(fatal[0]!.reason).toMatch(reason);
  expect(lines.some((line) => line.msg === 'hookrelay listening')).toBe(false);
}

describe('hookrelay start with a queue.path it cannot use', () => {
  it('a folder on the way is a regular file: names it, ENOTDIR', async () => {
    const file = join(dir, 'regular-file');
    writeFileSync(file, 'not a folder');
    const path = join(file, 'data', 'queue.db');
    expectRefused(await start(path), path, new RegExp(`${file} is not a directory`));
  });

  it('a folder that cannot be created (under /proc): names it, and does not hang', async () => {
    const path = '/proc/hookrelay-test/data/queue.db';
    expectRefused(await start(path), path, /cannot create the folder \/proc\/hookrelay-test: .*\(ENOENT\)/);
  });

  it('the path is a folder', async () => {
    const path = join(dir, 'a-folder');
    mkdirSync(path);
    expectRefused(await start(path), path, /is a directory/);
  });

  it('the file is not a queue file (not SQLite)', async () => {
    const path = join(dir, 'notes.txt');
    writeFileSync(path, 'these are my notes, not a database, and they are long enough to have a header page');
    expectRefused(await start(path), path, /file is not a database/);
  });

  it('`hookrelay deliveries` says the same in one line, exit 1', async () => {
    const path = join(dir, 'more-notes.txt');
    writeFileSync(path, 'these are my notes, not a database, and they are long enough to have a header page');
    const result = await start(path, ['deliveries', 'list']);
    expect(result).toEqual({
      code: 1,
      signal: null,
      stdout: '',
      stderr: `hookrelay deliveries: cannot open the queue file ${path} (queue.path): file is not a database\n`,
    });
  });
});
