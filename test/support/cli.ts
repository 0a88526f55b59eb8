import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

/** The CLI as a real child process: `node src/main.ts …` from the repository root. */

const ROOT = resolve(import.meta.dirname, '../..');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `hookrelay <args>` with the test's environment plus `env` (never the caller's
 * HOOKRELAY_CONFIG); `stdin` is written and closed. Bounded by a 15 s timeout.
 */
export function runCli(args: string[], env: Record<string, string> = {}, stdin = ''): Promise<CliResult> {
  const { HOOKRELAY_CONFIG: _ignored, ...base } = process.env;
  return new Promise((done) => {
    const child = execFile(
      process.execPath,
      ['src/main.ts', ...args],
      { cwd: ROOT, env: { ...base, ...env }, timeout: 15_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        done({ code, stdout, stderr });
      },
    );
    child.stdin!.end(stdin);
  });
}
