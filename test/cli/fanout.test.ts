/**
 * `hookrelay try` and `hookrelay test` on a fan-out route, as real child processes: every chosen
 * target's request, named; `expect.targets` and `expect.chosen`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'hookrelay-fanout-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { HOOKRELAY_CONFIG: _ignored, ...base } = process.env;
  return new Promise((done) => {
    const child = execFile(
      process.execPath,
      ['src/main.ts', ...args],
      { cwd: ROOT, env: { ...base, ERP_TOKEN: 'erp-s3cret-token' }, timeout: 15_000 },
      (error, stdout, stderr) => {
        done({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
      },
    );
    child.stdin!.end(stdin);
  });
}

const CONFIG = (delivery: string, tests = '') => `
routes:
  - id: orders
    path: /in/orders
    delivery: ${delivery}
    transform:
      - type: map
        fields: { id: order.id, total: order.total }
    targets:
      - name: erp
        forward:
          url: https://erp.example/orders
          auth: { type: bearer, token: "\${ERP_TOKEN}" }
        transform:
          - { type: xml-out, root: Order, declaration: false }
      - name: analytics
        when: { field: body.total, gte: 100 }
        forward: { url: https://bi.example/events }
${tests}`;

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('hookrelay try on a fan-out route', () => {
  it('prints each chosen target’s request, named, with its role', async () => {
    const config = file('try-async.yaml', CONFIG('async'));
    const r = await cli(
      ['try', '-c', config, '-r', 'orders', '-t', 'application/json'],
      '{"order":{"id":"A","total":250}}',
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      '# target erp (queued, as a delivery of route orders/erp)\nPOST https://erp.example/orders\n',
    );
    expect(r.stdout).toContain('authorization: Bearer <redacted');
    expect(r.stdout).not.toContain('erp-s3cret-token');
    expect(r.stdout).toContain('<Order><id>A</id><total>250</total></Order>');
    expect(r.stdout).toContain(
      '# target analytics (queued, as a delivery of route orders/analytics)\nPOST https://bi.example/events',
    );
  });

  it('a sync route names the target that answers; --json lists the targets; none chosen says so', async () => {
    const config = file('try-sync.yaml', CONFIG('sync'));
    const small = await cli(
      ['try', '-c', config, '-r', 'orders', '--json', '-t', 'application/json'],
      '{"order":{"id":"A","total":5}}',
    );
    expect(small.code).toBe(0);
    const json = JSON.parse(small.stdout) as {
      targets: { name: string; role: string; url: string; body: string }[];
    };
    expect(json.targets).toEqual([
      expect.objectContaining({ name: 'erp', role: 'answers', url: 'https://erp.example/orders' }),
    ]);
    const only = file(
      'try-when.yaml',
      CONFIG('async').replace(
        '      - name: erp\n',
        '      - name: erp\n        when: { field: body.total, lt: 0 }\n',
      ),
    );
    const none = await cli(
      ['try', '-c', only, '-r', 'orders', '-t', 'application/json'],
      '{"order":{"id":"A","total":5}}',
    );
    expect(none.code).toBe(0);
    expect(none.stdout).toContain('# no target matched: the caller gets 200');
  });
});

describe('hookrelay test on a fan-out route', () => {
  const tests = `    tests:
      - name: big order to both
        request: { contentType: application/json, body: '{"order":{"id":"A","total":250}}' }
        expect:
          chosen: [erp, analytics]
          targets:
            erp: { url: https://erp.example/orders, body: <Order><id>A</id><total>250</total></Order> }
            analytics: { json: { id: A, total: 250 }, headers: { content-type: application/json } }
      - name: small order to the ERP only
        request: { contentType: application/json, body: '{"order":{"id":"B","total":5}}' }
        expect:
          chosen: [erp]
`;

  it('passes when every target gets what is expected', async () => {
    const r = await cli(['test', '-c', file('test-ok.yaml', CONFIG('async', tests))]);
    expect(r.stdout).toBe(
      'PASS orders/big order to both\nPASS orders/small order to the ERP only\n2 passed, 0 failed\n',
    );
    expect(r.code).toBe(0);
  });

  it('says which target differs, and which was not chosen', async () => {
    const wrong = tests
      .replace('total: 250 }, headers', 'total: 251 }, headers')
      .replace('chosen: [erp]\n', 'chosen: [erp]\n          targets: { analytics: {} }\n');
    const r = await cli(['test', '-c', file('test-bad.yaml', CONFIG('async', wrong))]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      'FAIL orders/big order to both\n    targets.analytics: json $.total: expected 251, got 250\n',
    );
    expect(r.stdout).toContain(
      'FAIL orders/small order to the ERP only\n    targets.analytics: not chosen for this call (chosen: erp)\n',
    );
  });
});
