import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { load as loadYaml } from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { slug } from '../../scripts/docs/markdown.ts';
import { generateDocs, ROOT, staleDocs } from '../../scripts/gen-docs.ts';
import { parseConfig } from '../../src/config/load.ts';
import { CONFIG_CODES } from '../../src/core/config-codes.ts';
import { ERRORS, type ErrorCode, isAdminCode } from '../../src/core/errors.ts';
import { METRIC_DEFINITIONS } from '../../src/telemetry/metrics.ts';
import { exampleSecret } from '../helpers.ts';

const run = promisify(execFile);
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** The trimmed cells of the Markdown table row whose first cell is `first` (tables are padded). */
function row(doc: string, first: string): string[] | undefined {
  for (const line of doc.split('\n')) {
    if (!line.startsWith('|')) continue;
    const cells = line
      .slice(1, -1)
      .split(' | ')
      .map((c) => c.trim());
    if (cells[0] === first) return cells;
  }
  return undefined;
}

describe('generated docs', () => {
  const temp = mkdtempSync(join(tmpdir(), 'hookrelay-docs-'));
  afterAll(() => rmSync(temp, { recursive: true, force: true }));

  it('are current: `npm run docs` leaves nothing to change', async () => {
    expect(await staleDocs()).toEqual([]);
  });

  it('are deterministic', async () => {
    expect(await generateDocs()).toEqual(await generateDocs());
  });

  it('--check lists a stale or missing file', async () => {
    cpSync(join(ROOT, 'docs'), join(temp, 'docs'), { recursive: true });
    expect(await staleDocs(temp)).toEqual([]);
    writeFileSync(join(temp, 'docs/metrics.md'), `${read('docs/metrics.md')}\nhand edit\n`);
    rmSync(join(temp, 'docs/errors.md'));
    expect((await staleDocs(temp)).sort()).toEqual(['docs/errors.md', 'docs/metrics.md']);
  });

  it('--check exits 0 on the current tree', async () => {
    const { stdout } = await run(process.execPath, ['scripts/gen-docs.ts', '--check'], { cwd: ROOT });
    expect(stdout).toContain('docs are up to date');
  });

  it('errors.md documents every error code with its status', () => {
    const doc = read('docs/errors.md');
    for (const [code, spec] of Object.entries(ERRORS)) {
      expect(doc).toContain(`### ${code}\n`);
      expect(row(doc, `[\`${code}\`](#${slug(code)})`)?.[1]).toBe(String(spec.status));
    }
  });

  it('errors.md lists the admin API codes of the one table in their own section', () => {
    const doc = read('docs/errors.md');
    const admin = Object.keys(ERRORS).filter((c) => isAdminCode(c as ErrorCode));
    expect(admin).toEqual([
      'HOOKRELAY_ERR_ADMIN_UNAUTHORIZED',
      'HOOKRELAY_ERR_ADMIN_HOST_NOT_ALLOWED',
      'HOOKRELAY_ERR_ADMIN_CROSS_ORIGIN',
      'HOOKRELAY_ERR_ADMIN_UNSUPPORTED_MEDIA_TYPE',
      'HOOKRELAY_ERR_ADMIN_BAD_REQUEST',
      'HOOKRELAY_ERR_ADMIN_NOT_FOUND',
      'HOOKRELAY_ERR_ADMIN_METHOD_NOT_ALLOWED',
      'HOOKRELAY_ERR_ADMIN_BODY_TOO_LARGE',
      'HOOKRELAY_ERR_ADMIN_CSRF',
      'HOOKRELAY_ERR_ADMIN_FORM_EXPECTED',
      'HOOKRELAY_ERR_ADMIN_QUEUE',
    ]);
    const section = doc.indexOf('\n## Admin API codes\n');
    expect(section).toBeGreaterThan(0);
    for (const code of Object.keys(ERRORS)) {
      expect(doc.indexOf(`### ${code}\n`) > section).toBe(admin.includes(code));
    }
    // Only the relay listener's codes are counted in hookrelay_errors_total.
    const metricCodes = row(read('docs/metrics.md'), '`code`')?.[1] ?? '';
    expect(metricCodes).toContain('`HOOKRELAY_ERR_ROUTE_NOT_FOUND`');
    expect(metricCodes).not.toContain('ADMIN');
    for (const page of ['docs/queue.md', 'docs/security.md']) {
      expect(read(page)).toContain('(errors.md#admin-api-codes)');
    }
  });

  it('errors.md lists every configuration code with its severity, and configuration.md links there', () => {
    const doc = read('docs/errors.md');
    for (const [code, spec] of Object.entries(CONFIG_CODES)) {
      expect(row(doc, `\`${code}\``)?.[1]).toBe(spec.severity);
    }
    expect(read('docs/configuration.md')).toContain('(errors.md#configuration-codes)');
  });

  it('metrics.md documents every metric with its type and labels', () => {
    const doc = read('docs/metrics.md');
    for (const def of Object.values(METRIC_DEFINITIONS)) {
      const labels = def.labelNames.map((l) => `\`${l}\``).join(', ');
      expect(row(doc, `\`${def.name}\``)?.slice(1, 3)).toEqual([def.type, labels]);
    }
  });

  it('configuration.md documents every key, the auth variants and the secrets', () => {
    const doc = read('docs/configuration.md');
    for (const key of [
      'server.port',
      'defaults.retry.retryOn',
      'routes[].id',
      'routes[].forward.url',
      'routes[].forward.passHeaders',
      'routes[].respond.body',
      'routes[].limits.body',
    ]) {
      expect(doc).toContain(`### \`${key}\``);
    }
    for (const type of ['basic', 'bearer', 'header', 'query']) {
      expect(doc).toContain(`## \`routes[].forward.auth\` with \`type: ${type}\``);
    }
    for (const [key, anchor] of [
      ['routes[].forward.auth.password` (basic)', 'routesforwardauthpassword-basic'],
      ['routes[].forward.auth.token` (bearer)', 'routesforwardauthtoken-bearer'],
      ['routes[].forward.auth.value` (header)', 'routesforwardauthvalue-header'],
      ['routes[].forward.auth.value` (query)', 'routesforwardauthvalue-query'],
    ]) {
      expect(row(doc, `[\`${key}](#${anchor})`)?.[3]).toContain('**secret**');
    }
    // Defaults appear the way a user writes them, and route keys point at the default they override.
    expect(row(doc, '[`defaults.timeouts.deadline`](#defaultstimeoutsdeadline)')?.slice(1, 3)).toEqual([
      '[duration](#durations-and-sizes)',
      '`30s`',
    ]);
    expect(row(doc, '[`routes[].retry.maxDelay`](#routesretrymaxdelay)')?.[2]).toBe(
      '[`defaults.retry.maxDelay`](#defaultsretrymaxdelay) (`10s`)',
    );
  });

  it('every in-page link of configuration.md has a heading', () => {
    const doc = read('docs/configuration.md');
    const anchors = new Set([...doc.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)));
    const links = [...doc.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(50);
    expect(links.filter((a) => !anchors.has(a))).toEqual([]);
  });

  it('the editor schema is JSON Schema that rejects unknown keys', () => {
    const schema = JSON.parse(read('docs/hookrelay.schema.json'));
    expect(schema.$schema).toMatch(/json-schema\.org/);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['routes']);
    const route = schema.properties.routes.items;
    expect(route.additionalProperties).toBe(false);
    expect(route.properties.forward.properties.auth.oneOf).toHaveLength(5);
    expect(schema.properties.defaults.properties.timeouts.properties.deadline.default).toBe('30s');
  });

  it('the editor schema accepts every config in the repository and flags typos', () => {
    const schema = z.fromJSONSchema(JSON.parse(read('docs/hookrelay.schema.json')));
    const files = [
      'config/hookrelay.yaml',
      ...readdirSync(join(ROOT, 'config/examples')).map((f) => `config/examples/${f}`),
    ];
    for (const file of files) {
      // The editor sees the text before interpolation: `${PORT:-8080}` where a number is expected.
      expect(schema.safeParse(loadYaml(read(file))).error?.issues ?? [], file).toEqual([]);
    }
    const route = { id: 'a', path: '/a', forward: { url: 'http://x', auth: { type: 'bearer', token: 't' } } };
    expect(schema.safeParse({ routes: [route] }).success).toBe(true);
    expect(schema.safeParse({ routes: [{ ...route, retyr: {} }] }).success).toBe(false);
    expect(schema.safeParse({ routes: [{ ...route, timeouts: { attempt: '5 seconds' } }] }).success).toBe(
      false,
    );
    expect(
      schema.safeParse({ routes: [{ ...route, forward: { url: 'http://x', auth: { type: 'bearer' } } }] })
        .success,
    ).toBe(false);
  });
});

describe('hand-written docs', () => {
  const markdown = [
    'README.md',
    'CHANGELOG.md',
    ...readdirSync(join(ROOT, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];

  it.each(markdown)('%s links only to files that exist', (file) => {
    const text = read(file);
    const targets = [...text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)]
      .map((m) => m[1]!)
      .filter((t) => !/^[a-z]+:/.test(t));
    const missing = targets.filter((t) => !existsSync(resolve(ROOT, dirname(file), t)));
    expect(missing).toEqual([]);
  });

  const configBlocks = (file: string) =>
    [...read(file).matchAll(/```yaml\n([\s\S]*?)```/g)]
      .map((m) => m[1]!)
      .filter((yaml) => /^routes:/m.test(yaml));

  it('the README and the configuration reference show complete config examples', () => {
    expect(configBlocks('README.md').length).toBeGreaterThanOrEqual(1);
    expect(configBlocks('docs/configuration.md').length).toBeGreaterThanOrEqual(2);
  });

  it.each(markdown)('%s: every complete YAML config example validates', (file) => {
    for (const yaml of configBlocks(file)) {
      const env = Object.fromEntries(
        [...yaml.matchAll(/\$\{(\w+)/g)].map((m) => [m[1]!, exampleSecret(m[1]!)]),
      );
      expect(() => parseConfig(yaml, file, { env })).not.toThrow();
    }
  });

  it('the README quick start is the two commands the CI runs', () => {
    const readme = read('README.md');
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm test');
    for (const doc of ['configuration', 'metrics', 'errors', 'lifecycle', 'security']) {
      expect(readme).toContain(`docs/${doc}.md`);
    }
  });

  it('every path the Dockerfile copies from the build context exists', () => {
    const dockerfile = read('Dockerfile');
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(?:--\S+ )*(.+) \S+$/gm)].flatMap((m) =>
      m[1]!.split(/\s+/),
    );
    expect(sources.length).toBeGreaterThan(0);
    expect(sources.filter((s) => !existsSync(join(ROOT, s)))).toEqual([]);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK /m);
  });
});
