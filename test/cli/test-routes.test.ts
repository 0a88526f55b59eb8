import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/** `hookrelay test` as a real child process: `node src/main.ts test ...` from the repository root. */

const ROOT = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'hookrelay-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

const TOKEN = 'route-test-s3cret';

function cli(args: string[], env: Record<string, string> = { TOKEN }): Promise<Result> {
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
    child.stdin!.end();
  });
}

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

mkdirSync(join(dir, 'fixtures'));
file('fixtures/order.json', '{"id": 7, "status": "paid"}');

const ROUTES = `routes:
  - id: orders
    path: /in/:tenant/orders
    forward:
      url: https://api.example.com/{tenant}/orders
      headers: { X-Source: erp }
      auth: { type: bearer, token: "\${TOKEN}" }
    tests:
      - name: passes the body through
        request:
          path: /in/acme/orders
          contentType: application/json
          bodyFile: fixtures/order.json
        expect:
          method: POST
          url: https://api.example.com/acme/orders
          headers: { Content-Type: application/json, x-source: erp, authorization: "Bearer <redacted>" }
          body: '{"id": 7, "status": "paid"}'
          json: { id: 7, status: paid }
      - name: the token as sent matches too
        request: { path: /in/acme/orders, body: "{}" }
        expect:
          headers: { authorization: "Bearer \${TOKEN}" }
      - name: a PUT is refused like the relay does
        request: { method: PUT }
        expect: { error: HOOKRELAY_ERR_METHOD_NOT_ALLOWED }
  - id: callback
    path: /cb
    methods: [GET]
    transform:
      - type: query
        method: POST
    forward:
      url: https://api.example.com/callbacks
      passQuery: false
    tests:
      - name: query to JSON
        request: { query: "id=D-1&event=open" }
        expect:
          method: POST
          url: https://api.example.com/callbacks
          json: { id: D-1, event: open }
      - name: an array body cannot take the query
        request: { contentType: application/json, body: "[1]" }
        expect: { error: HOOKRELAY_ERR_TRANSFORM_FAILED }
`;

const FAILING = `routes:
  - id: orders
    path: /in/orders
    forward:
      url: https://api.example.com/orders
      auth: { type: bearer, token: "\${TOKEN}" }
    tests:
      - name: wrong everything
        request: { contentType: application/json, body: '{"id": 7, "items": [1, 2], "extra": true}' }
        expect:
          method: PUT
          url: https://api.example.com/other
          headers: { authorization: "Bearer wrong-token", x-missing: "1", content-type: text/plain }
          json: { id: "7", items: [1], name: x }
      - name: text differs
        request: { body: "hello world" }
        expect: { body: "hello there" }
      - name: expects an error
        request: { body: "{}" }
        expect: { error: HOOKRELAY_ERR_TRANSFORM_FAILED }
      - name: body file missing
        request: { bodyFile: nope.json }
        expect: { method: POST }
      - name: passes
        request: { body: "{}" }
        expect: { method: POST }
  - id: cb
    path: /cb
    methods: [GET]
    transform: [{ type: query }]
    forward: { url: https://api.example.com/cb }
    tests:
      - name: unexpected failure
        request: { contentType: application/json, body: "[1]" }
        expect: { json: {} }
      - name: other error
        request: { contentType: application/json, body: "[1" }
        expect: { error: HOOKRELAY_ERR_TRANSFORM_FAILED }
  - id: qk
    path: /qk
    forward:
      url: https://api.example.com/qk
      auth: { type: query, name: api_key, value: "\${TOKEN}" }
    tests:
      - name: url with the key
        request: { body: "{}" }
        expect: { url: "https://api.example.com/qk?x=1&api_key=\${TOKEN}" }
`;

describe('hookrelay test', () => {
  it('runs every case, prints PASS per case and the summary, exits 0', async () => {
    const config = file('passing.yaml', ROUTES);
    const result = await cli(['test', '-c', config]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(
      [
        'PASS orders/passes the body through',
        'PASS orders/the token as sent matches too',
        'PASS orders/a PUT is refused like the relay does',
        'PASS callback/query to JSON',
        'PASS callback/an array body cannot take the query',
        '5 passed, 0 failed',
        '',
      ].join('\n'),
    );
    expect(result.code).toBe(0);
  });

  it('--route runs one route only', async () => {
    const config = file('passing-route.yaml', ROUTES);
    const result = await cli(['test', '-c', config, '--route', 'callback']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      'PASS callback/query to JSON\nPASS callback/an array body cannot take the query\n2 passed, 0 failed\n',
    );
    const unknown = await cli(['test', '-c', config, '--route', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(`hookrelay test: no route 'nope' in ${config}; routes: orders, callback\n`);
  });

  it('a failing case says what differed, expected against actual, and the run exits 1', async () => {
    const config = file('failing.yaml', FAILING);
    const result = await cli(['test', '-c', config]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('');
    const out = result.stdout;
    expect(out).toContain(
      [
        'FAIL orders/wrong everything',
        '    method: expected PUT, got POST',
        '    url: expected https://api.example.com/other',
        '         got https://api.example.com/orders',
        '    header authorization: differs (values <redacted>)',
        '    header x-missing: expected "1", missing',
        '    header content-type: expected "text/plain", got "application/json"',
        '    json $.id: expected "7", got 7',
        '    json $.items: expected 1 items, got 2',
        '    json $.name: missing, expected "x"',
        '    json $.extra: not expected, got true',
        '',
      ].join('\n'),
    );
    expect(out).toContain(
      [
        'FAIL orders/text differs',
        '    body: differs at line 1, column 7',
        '      expected "hello there"',
        '      got      "hello world"',
        '',
      ].join('\n'),
    );
    expect(out).toContain(
      'FAIL orders/expects an error\n    error: expected HOOKRELAY_ERR_TRANSFORM_FAILED, but the request would be forwarded: POST https://api.example.com/orders\n',
    );
    expect(out).toMatch(
      /FAIL orders\/body file missing\n {4}request\.bodyFile: cannot read .*nope\.json: ENOENT\n/,
    );
    expect(out).toContain('PASS orders/passes\n');
    expect(out).toMatch(
      /FAIL cb\/unexpected failure\n {4}error: route cb: transform\[0\] \(query\): .+ \(HOOKRELAY_ERR_TRANSFORM_FAILED\)\n/,
    );
    expect(out).toMatch(
      /FAIL cb\/other error\n {4}error: expected HOOKRELAY_ERR_TRANSFORM_FAILED, got HOOKRELAY_ERR_MALFORMED_BODY: route cb: transform\[0\] \(query\): malformed JSON body: .+\n/,
    );
    expect(out).toContain(
      'FAIL qk/url with the key\n    url: expected https://api.example.com/qk?x=1&api_key=<redacted>\n         got https://api.example.com/qk?api_key=<redacted>\n',
    );
    expect(out.endsWith('1 passed, 7 failed\n')).toBe(true);
    // The expected and actual credentials both stay out of the output.
    expect(out).not.toContain(TOKEN);
    expect(out).not.toContain('wrong-token');
  });

  it('expect.json compares numbers digit for digit, as written in the file', async () => {
    const config = file(
      'numbers.yaml',
      `routes:
  - id: shop
    path: /in
    transform:
      - type: map
        fields: { id: id, idText: { from: id, type: string }, price: price, lines: lines, note: note }
    forward: { url: https://api.example.com/orders }
    tests:
      - name: the exact digits
        request:
          contentType: application/json
          body: '{"id":5738291046618274931,"price":10.50,"lines":[12345678901234567890,12345678901234567891],"note":"\${TOKEN}"}'
        expect:
          json:
            id: 5738291046618274931
            idText: "5738291046618274931"
            price: 10.5
            lines: [12345678901234567890, 12345678901234567891]
            note: "\${TOKEN}"
      - name: one digit off
        request:
          contentType: application/json
          body: '{"id":5738291046618274931,"price":10.50,"lines":[12345678901234567890,12345678901234567891]}'
        expect:
          json: { id: 5738291046618274932, price: 10.50, lines: [12345678901234567890, 12345678901234567890] }
`,
    );
    const result = await cli(['test', '-c', config]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(
      [
        'PASS shop/the exact digits',
        'FAIL shop/one digit off',
        '    json $.id: expected 5738291046618274932, got 5738291046618274931',
        '    json $.lines[1]: expected 12345678901234567890, got 12345678901234567891',
        '    json $.idText: not expected, got "5738291046618274931"',
        '1 passed, 1 failed',
        '',
      ].join('\n'),
    );
    expect(result.code).toBe(1);
  });

  it('a config without test cases fails and says so', async () => {
    const config = file(
      'none.yaml',
      'routes:\n  - { id: a, path: /a, forward: { url: "https://example.com/" } }\n',
    );
    const result = await cli(['test', '-c', config]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `hookrelay test: no test cases in ${config}; add \`tests:\` to a route (see docs/transforms.md)\n`,
    );
  });

  it('an invalid config exits 1 with its errors; usage errors exit 2', async () => {
    const bad = file('bad.yaml', 'routes:\n  - { id: a, path: /a, echo: true, tests: [{ name: x }] }\n');
    const [invalid, usage, help] = await Promise.all([
      cli(['test', '-c', bad]),
      cli(['test', '-c', bad, '--bogus']),
      cli(['test', '--help']),
    ]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('hookrelay: invalid configuration');
    expect(invalid.stderr).toContain('routes[0].tests[0].expect');
    expect(usage.code).toBe(2);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: hookrelay test');
  });
});
