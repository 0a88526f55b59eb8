import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/** The `hookrelay` CLI as a real child process: `node src/main.ts ...` from the repository root. */

const ROOT = resolve(import.meta.dirname, '../..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const dir = mkdtempSync(join(tmpdir(), 'hookrelay-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion; env starts clean of HOOKRELAY_CONFIG so the host cannot leak in. */
function cli(args: string[], env: Record<string, string> = {}, entry = 'src/main.ts'): Promise<Result> {
  const { HOOKRELAY_CONFIG: _ignored, ...base } = process.env;
  return new Promise((done) => {
    execFile(
      process.execPath,
      [entry, ...args],
      { cwd: ROOT, env: { ...base, ...env }, timeout: 15_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const good = file(
  'good.yaml',
  `routes:
  - id: orders
    path: /in/:tenant/orders
    forward:
      url: https://api.example.com/{tenant}/orders
      auth: { type: bearer, token: "\${TOKEN:-dev}" }
  - id: echo
    path: /echo
    echo: true
`,
);

const bad = file(
  'bad.yaml',
  `server:
  prot: 8080
routes:
  - id: orders
    path: /in/orders
    forward:
      url: ftp://example.com/x
  - id: other
    path: /in/other
    forwrd:
      url: https://example.com/
  - id: third
    path: /in/third
    forward:
      url: https://example.com/\${MISSING_TOKEN_VAR}
`,
);

describe('--version and --help', () => {
  it('--version prints the package version', async () => {
    expect(await cli(['--version'])).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
    expect((await cli(['-v'])).stdout).toBe(`${VERSION}\n`);
  });

  it('--help prints usage with both commands and exits 0', async () => {
    for (const flag of ['--help', '-h', 'help']) {
      const result = await cli([flag]);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('Usage:');
      expect(result.stdout).toContain('hookrelay start');
      expect(result.stdout).toContain('hookrelay validate');
      expect(result.stdout).toContain('HOOKRELAY_CONFIG');
    }
  });

  it('no command prints the usage and exits 2', async () => {
    const result = await cli([]);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain('Usage:');
  });

  it('an unknown option or command exits 2 and says which', async () => {
    const option = await cli(['--bogus']);
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("Unknown option '--bogus'");
    // Checked before the config is read: a typo is not reported as a config problem.
    const command = await cli(['strat', '-c', join(dir, 'does-not-exist.yaml')]);
    expect(command.code).toBe(2);
    expect(command.stderr).toContain("unknown command 'strat'");
    expect(command.stderr).not.toContain('invalid configuration');
  });

  it('the bin script runs the same CLI', async () => {
    expect((await cli(['--version'], {}, 'bin/hookrelay.js')).stdout).toBe(`${VERSION}\n`);
    expect((await cli(['validate', '-c', good], {}, 'bin/hookrelay.js')).code).toBe(0);
  });
});

describe('validate', () => {
  it('a valid file exits 0 and says how many routes it has', async () => {
    const result = await cli(['validate', '-c', good]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${good}: OK (2 routes)\n`);
    // The token's `${TOKEN:-dev}` default is a literal secret: valid, but warned about.
    expect(result.stderr).toBe(
      `hookrelay: 1 warning\n${good}:6:29: routes[0].forward.auth.token: has a literal default (\${VAR:-…}) for a secret; use \${VAR} or \${file:/path} without a default [HOOKRELAY_CONFIG_LITERAL_SECRET]\n`,
    );
    expect((await cli(['validate', '--config', good])).code).toBe(0);
    expect((await cli(['-c', good, 'validate'])).code).toBe(0);
  });

  it('an invalid file exits 1 and lists every error with file:line:col and path', async () => {
    const result = await cli(['validate', '-c', bad]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toBe('hookrelay: invalid configuration (5 errors)');
    expect(lines.slice(1).sort()).toEqual(
      [
        `${bad}:2:3: server.prot: unknown key 'prot' [HOOKRELAY_CONFIG_UNKNOWN_KEY]`,
        `${bad}:7:7: routes[0].forward.url: must be an absolute http(s) URL, got 'ftp://example.com/x' [HOOKRELAY_CONFIG_INVALID_FORMAT]`,
        `${bad}:10:5: routes[1].forwrd: unknown key 'forwrd' [HOOKRELAY_CONFIG_UNKNOWN_KEY]`,
        `${bad}:8:5: routes[1]: a route needs exactly one of \`forward\`, \`targets\` or \`echo: true\` [HOOKRELAY_CONFIG_CONFLICT]`,
        `${bad}:15:7: routes[2].forward.url: environment variable 'MISSING_TOKEN_VAR' is not set [HOOKRELAY_CONFIG_ENV_NOT_SET]`,
      ].sort(),
    );
  });

  it('environment variables are read from the process environment', async () => {
    const withVar = await cli(['validate', '-c', bad], { MISSING_TOKEN_VAR: 'x' });
    expect(withVar.stderr).toContain('(4 errors)');
    expect(withVar.stderr).not.toContain('MISSING_TOKEN_VAR');
  });

  it('a single error is singular', async () => {
    const one = file('one.yaml', 'routes:\n  - { id: a, path: /a, echo: true, extra: 1 }\n');
    const result = await cli(['validate', '-c', one]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `hookrelay: invalid configuration (1 error)\n${one}:2:36: routes[0].extra: unknown key 'extra' [HOOKRELAY_CONFIG_UNKNOWN_KEY]\n`,
    );
  });

  it('a missing file exits 1 with the path', async () => {
    const missing = join(dir, 'nope.yaml');
    const result = await cli(['validate', '-c', missing]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `${missing}: (root): cannot read config file: ENOENT [HOOKRELAY_CONFIG_FILE_UNREADABLE]`,
    );
  });

  it('invalid YAML exits 1 with the position', async () => {
    const broken = file('broken.yaml', 'routes:\n  - id: a\n   path: /a\n');
    const result = await cli(['validate', '-c', broken]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `${escapeRegExp(broken)}:3:\\d+: \\(root\\): invalid YAML: .* \\[HOOKRELAY_CONFIG_YAML_SYNTAX\\]$`,
        'm',
      ),
    );
  });

  it('HOOKRELAY_CONFIG picks the file when -c is not given', async () => {
    const fromEnv = await cli(['validate'], { HOOKRELAY_CONFIG: good });
    expect(fromEnv).toMatchObject({ code: 0, stdout: `${good}: OK (2 routes)\n` });
    const badFromEnv = await cli(['validate'], { HOOKRELAY_CONFIG: bad });
    expect(badFromEnv.code).toBe(1);
    expect(badFromEnv.stderr).toContain(`${bad}:2:3: server.prot`);
  });

  it('-c wins over HOOKRELAY_CONFIG', async () => {
    const result = await cli(['validate', '-c', good], { HOOKRELAY_CONFIG: bad });
    expect(result).toMatchObject({ code: 0, stdout: `${good}: OK (2 routes)\n` });
  });

  it('without either, the default is config/hookrelay.yaml', async () => {
    const result = await cli(['validate']);
    expect(result).toMatchObject({ code: 0, stdout: expect.stringMatching(/^config\/hookrelay\.yaml: OK/) });
  });
});

describe('start with a bad config', () => {
  it('refuses to start: exit 1 with the errors, nothing listens', async () => {
    const result = await cli(['start', '-c', bad]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('hookrelay: invalid configuration (5 errors)');
    // The code beside each message, as `validate` prints it.
    expect(result.stderr).toContain(
      `${bad}:2:3: server.prot: unknown key 'prot' [HOOKRELAY_CONFIG_UNKNOWN_KEY]\n`,
    );
    expect(result.stdout).not.toContain('listening');
  });

  it('a port that is taken exits 1 with a log line', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((done) => blocker.listen(0, '127.0.0.1', done));
    const port = (blocker.address() as { port: number }).port;
    try {
      const config = file(
        'taken.yaml',
        `server: { host: 127.0.0.1, port: ${port} }\nroutes: [{ id: a, path: /a, echo: true }]\n`,
      );
      const result = await cli(['start', '-c', config]);
      expect(result.code).toBe(1);
      const fatal = result.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((entry) => entry.msg === 'cannot listen');
      expect(fatal).toMatchObject({ level: 'fatal', err: { code: 'EADDRINUSE' } });
    } finally {
      blocker.close();
    }
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
