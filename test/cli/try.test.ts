import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/** `hookrelay try` as a real child process: `node src/main.ts try ...` from the repository root. */

const ROOT = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'hookrelay-try-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

const SECRETS = {
  BEARER_TOKEN: 'bearer-s3cret-token',
  BASIC_PASSWORD: 'basic-s3cret-password',
  HEADER_KEY: 'header-s3cret-key',
  QUERY_KEY: 'query-s3cret-key',
  STATIC_KEY: 'static-s3cret-key',
};

/** Runs the CLI; `stdin` is written and closed (an empty stdin when not given). */
function cli(args: string[], stdin = '', env: Record<string, string> = SECRETS): Promise<Result> {
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
    // The child stops reading once a body is over the route's limit: EPIPE is expected then.
    child.stdin!.on('error', () => {});
    child.stdin!.end(stdin);
  });
}

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const config = file(
  'try.yaml',
  `routes:
  - id: orders
    path: /in/:tenant/orders
    methods: [POST, PUT]
    forward:
      url: https://api.example.com/{tenant}/orders
      headers: { X-Source: erp, X-Api-Key: "\${STATIC_KEY}" }
      auth: { type: bearer, token: "\${BEARER_TOKEN}" }
    respond:
      status: 202
      contentType: text/plain
      body: "accepted {{ body.id }} as {{ requestId }}"
  - id: basic
    path: /basic
    forward:
      url: https://api.example.com/basic
      auth: { type: basic, username: relay, password: "\${BASIC_PASSWORD}" }
  - id: header-key
    path: /header
    forward:
      url: https://api.example.com/header
      auth: { type: header, name: X-Target-Auth, value: "\${HEADER_KEY}" }
  - id: query-key
    path: /query
    methods: [GET]
    forward:
      url: https://api.example.com/query?fixed=1
      auth: { type: query, name: api_key, value: "\${QUERY_KEY}" }
  - id: callback
    path: /cb/:site
    methods: [GET]
    transform:
      - type: headers
        set: { X-Site: "{{ params.site }}" }
      - type: query
        method: POST
    forward:
      url: https://api.example.com/callbacks
      passQuery: false
  - id: demo
    path: /demo
    echo: true
`,
);

function secretsIn(text: string): string[] {
  return Object.values(SECRETS).filter(
    (s) => text.includes(s) || text.includes(Buffer.from(s).toString('base64')),
  );
}

describe('hookrelay try', () => {
  it('prints the request that would be forwarded: method, URL, sorted headers, pretty JSON body', async () => {
    const result = await cli(
      [
        'try',
        '-c',
        config,
        '--route',
        'orders',
        '--content-type',
        'application/json',
        '--param',
        'tenant=acme corp',
        '--query',
        'a=1&b=2',
        '--header',
        'X-Erp-Event: order.created',
        '-H',
        'X-Request-Id: erp-msg-7',
      ],
      '{"id":42,"items":[{"sku":"A-1"}]}',
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        'POST https://api.example.com/acme%20corp/orders?a=1&b=2',
        'authorization: Bearer <redacted>',
        'content-type: application/json',
        'x-api-key: <redacted>',
        'x-erp-event: order.created',
        'x-forwarded-for: 127.0.0.1',
        'x-request-id: erp-msg-7',
        'x-source: erp',
        '',
        '{',
        '  "id": 42,',
        '  "items": [',
        '    {',
        '      "sku": "A-1"',
        '    }',
        '  ]',
        '}',
        '',
        '# answer to the caller once the target accepts (respond):',
        '202',
        'content-type: text/plain',
        'x-request-id: erp-msg-7',
        '',
        'accepted 42 as erp-msg-7',
        '',
      ].join('\n'),
    );
  });

  it('--json prints one object for scripts, with a try- request id and the body as sent', async () => {
    const body = file('order.json', '{"id": 42}');
    const result = await cli(['try', '-c', config, '-r', 'orders', '-f', body, '-X', 'PUT', '--json']);
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout) as Record<string, unknown> & { headers: Record<string, string> };
    expect(Object.keys(out)).toEqual(['method', 'url', 'headers', 'body', 'bodyEncoding']);
    expect(out).toMatchObject({
      method: 'PUT',
      // No --param: the path parameter stays as written, as the relay would take it.
      url: 'https://api.example.com/%3Atenant/orders',
      body: '{"id": 42}',
      bodyEncoding: 'utf8',
    });
    expect(out.headers['x-request-id']).toMatch(/^try-[0-9a-f]{12}$/);
    expect(out.headers.authorization).toBe('Bearer <redacted>');
    expect(Object.keys(out.headers)).toEqual([...Object.keys(out.headers)].sort());
  });

  it('a binary body is shown as base64', async () => {
    const bytes = Buffer.from([0xff, 0x00, 0xfe, 0x01]);
    const path = join(dir, 'bin.dat');
    writeFileSync(path, bytes);
    const result = await cli([
      'try',
      '-c',
      config,
      '-r',
      'basic',
      '-f',
      path,
      '-t',
      'application/octet-stream',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`(4 bytes of binary data, base64)\n${bytes.toString('base64')}\n`);
    const json = JSON.parse((await cli(['try', '-c', config, '-r', 'basic', '-f', path, '--json'])).stdout);
    expect(json).toMatchObject({ body: bytes.toString('base64'), bodyEncoding: 'base64' });
  });

  it('never prints a credential: every auth kind, static key headers, query keys', async () => {
    const runs = [
      ['orders', ['-p', 'tenant=a']],
      ['basic', []],
      ['header-key', []],
      ['query-key', ['-X', 'GET', '-q', 'token=caller-s3cret&x=1']],
    ].flatMap(([route, args]) =>
      [[], ['--json']].map((json) =>
        cli(['try', '-c', config, '-r', route as string, ...args!, ...json], '{}'),
      ),
    );
    const outputs: string[] = [];
    for (const result of await Promise.all(runs)) {
      expect(result.code, result.stderr).toBe(0);
      outputs.push(result.stdout + result.stderr);
    }
    const all = outputs.join('\n');
    expect(secretsIn(all)).toEqual([]);
    expect(all).not.toContain('caller-s3cret');
    expect(all).toContain('authorization: Basic <redacted>');
    expect(all).toContain('x-target-auth: <redacted>');
    expect(all).toContain(
      'GET https://api.example.com/query?fixed=1&token=<redacted>&x=1&api_key=<redacted>',
    );
    expect(all).toContain(
      '"url":"https://api.example.com/query?fixed=1&token=<redacted>&x=1&api_key=<redacted>"',
    );
  });

  it('runs the transform steps: a GET callback becomes a POST with a JSON body', async () => {
    const result = await cli(
      ['try', '-c', config, '-r', 'callback', '-p', 'site=berlin', '-q', 'id=D-1&event=open', '--json'],
      '',
    );
    expect(result.stderr).toBe('');
    const out = JSON.parse(result.stdout);
    expect(out).toMatchObject({
      method: 'POST',
      url: 'https://api.example.com/callbacks',
      headers: { 'content-type': 'application/json', 'x-site': 'berlin' },
      bodyEncoding: 'utf8',
    });
    expect(JSON.parse(out.body)).toEqual({ id: 'D-1', event: 'open', site: 'berlin' });
  });

  it('a failing step exits 1 naming the route and the step, with the error code', async () => {
    const result = await cli(['try', '-c', config, '-r', 'callback', '-t', 'application/json'], '[1, 2]');
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^route callback: transform\[1\] \(query\): /);
    expect(lines[1]).toBe('HOOKRELAY_ERR_TRANSFORM_FAILED: the relay would answer 422 and forward nothing');
  });

  it('a malformed body exits 1 with the parser position and a 400 code', async () => {
    const result = await cli(['try', '-c', config, '-r', 'callback', '-t', 'application/json'], '{"a": 1,}');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^route callback: transform\[\d\] \(\w+\): malformed JSON body: .*line 1, column \d+/,
    );
    expect(result.stderr).toContain('HOOKRELAY_ERR_MALFORMED_BODY: the relay would answer 400');
  });

  it('the inbound checks of the relay apply: an unaccepted method', async () => {
    const method = await cli(['try', '-c', config, '-r', 'basic', '-X', 'DELETE']);
    expect(method.code).toBe(1);
    expect(method.stderr).toBe(
      'route basic: route accepts POST, not DELETE\nHOOKRELAY_ERR_METHOD_NOT_ALLOWED: the relay would answer 405 and forward nothing\n',
    );
  });

  it("the route's limits apply: the body limit (stdin read no further) and jsonDepth in respond", async () => {
    const limited = file(
      'limited.yaml',
      `routes:
  - id: limited
    path: /limited
    limits: { body: 64, jsonDepth: 2 }
    forward:
      url: https://api.example.com/limited
    respond:
      status: 202
      body: "got {{ body.a }}"
`,
    );
    const args = ['try', '-c', limited, '-r', 'limited', '-t', 'application/json'];
    const large = await cli(args, `{"a":"${'x'.repeat(200_000)}"}`);
    expect(large.code).toBe(1);
    expect(large.stderr).toBe(
      'route limited: request body exceeds the route limit of 64 bytes\nHOOKRELAY_ERR_BODY_TOO_LARGE: the relay would answer 413 and forward nothing\n',
    );
    const within = await cli(args, '{"a":{"b":1}}');
    expect(within.code).toBe(0);
    expect(within.stdout).toContain('\n\ngot {"b":1}\n');
    // Deeper than limits.jsonDepth: the template sees no body, as in the relay's answer.
    const deep = await cli(args, '{"a":{"b":{"c":1}}}');
    expect(deep.code).toBe(0);
    expect(deep.stdout).toContain('\n\ngot \n');
  });

  it('an unknown route exits 1 and lists the routes', async () => {
    const result = await cli(['try', '-c', config, '--route', 'nope']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `hookrelay try: no route 'nope' in ${config}; routes: orders, basic, header-key, query-key, callback, demo\n`,
    );
  });

  it('an echo route has nothing to forward', async () => {
    const result = await cli(['try', '-c', config, '--route', 'demo']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('route demo does not forward');
  });

  it('an invalid config exits 1 with its errors', async () => {
    const bad = file('bad.yaml', 'routes:\n  - { id: a, path: /a, echo: true, extra: 1 }\n');
    const result = await cli(['try', '-c', bad, '--route', 'a']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${bad}:2:36: routes[0].extra: unknown key 'extra'`);
  });

  it('usage errors exit 2 with the help; --help exits 0', async () => {
    const [header, missing, unknown, help, top] = await Promise.all([
      cli(['try', '-c', config, '-r', 'basic', '-H', 'no colon here']),
      cli(['try', '-c', config]),
      cli(['try', '-c', config, '--bogus']),
      cli(['try', '--help']),
      cli(['--help']),
    ]);
    expect(header.code).toBe(2);
    expect(header.stderr).toContain("--header 'no colon here': expected 'Name: value'");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--route is required; routes in');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--bogus'");
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: hookrelay try');
    expect(top.stdout).toContain('hookrelay try');
    expect(top.stdout).toContain('hookrelay test');
  });

  it('shows numbers with the caller’s digits, in the body and in the respond answer', async () => {
    const result = await cli(
      ['try', '-c', config, '-r', 'orders', '-t', 'application/json', '-H', 'X-Request-Id: big-1'],
      '{"id":5738291046618274931,"lines":[12345678901234567890,12345678901234567891],"price":10.50,"max":1e400}',
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const body = result.stdout.slice(result.stdout.indexOf('\n\n') + 2, result.stdout.indexOf('\n\n#'));
    expect(body).toBe(
      [
        '{',
        '  "id": 5738291046618274931,',
        '  "lines": [',
        '    12345678901234567890,',
        '    12345678901234567891',
        '  ],',
        '  "price": 10.50,',
        '  "max": 1e400',
        '}',
      ].join('\n'),
    );
    expect(result.stdout).toContain('\naccepted 5738291046618274931 as big-1\n');
  });

  it('-c may come before the command, and a missing file is reported', async () => {
    const result = await cli(['-c', config, 'try', '-r', 'basic', '--json'], '{}');
    expect(result.code).toBe(0);
    const missing = await cli(['try', '-r', 'basic', '-f', join(dir, 'nope.json'), '-c', config]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot read');
    expect(missing.stderr).toContain('ENOENT');
  });
});
