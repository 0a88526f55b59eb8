import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillTemplate, TemplateError } from '../../scripts/docs/template.ts';
import { ROOT } from '../../scripts/gen-docs.ts';

/**
 * The page templates and `gen-docs --check`: a template that does not fit its generator and a
 * generated file that differs from the code both fail the check, naming what is wrong.
 */

const run = promisify(execFile);

describe('fillTemplate', () => {
  const fill = (template: string, values: Record<string, string>) =>
    fillTemplate('t.md.tmpl', template, values);
  const problems = (template: string, values: Record<string, string>) => {
    try {
      fill(template, values);
    } catch (error) {
      expect(error).toBeInstanceOf(TemplateError);
      return (error as Error).message.split('\n').slice(1);
    }
    throw new Error('the template was accepted');
  };

  it('fills every placeholder, as often as it appears, and never rescans a value', () => {
    expect(fill('# @@title@@\n\n@@body@@ (@@title@@)\n', { title: 'T', body: '@@title@@ $& {{ x }}' })).toBe(
      '# T\n\n@@title@@ $& {{ x }} (T)\n',
    );
  });

  it('drops the opening template comment and counts lines from the top of the file', () => {
    const template = '<!-- template: a page,\nfilled by @@nothing@@ -->\n# Page\n\n@@nope@@\n';
    expect(problems(template, {})).toEqual(['  t.md.tmpl:5: unknown placeholder @@nope@@']);
    expect(fill('<!-- template: a page -->\n# @@x@@\n', { x: 'X' })).toBe('# X\n');
  });

  it('reports an unknown placeholder, an unused value and a stray @@ all at once', () => {
    expect(
      problems('@@known@@\n@@unknown@@\nmail@@host and @@Bad Name@@\n', { known: 'k', spare: 's' }),
    ).toEqual([
      '  t.md.tmpl:2: unknown placeholder @@unknown@@',
      "  t.md.tmpl:3: '@@' outside a placeholder (@@lower-case-name@@)",
      "  t.md.tmpl:3: '@@' outside a placeholder (@@lower-case-name@@)",
      "  t.md.tmpl:3: '@@' outside a placeholder (@@lower-case-name@@)",
      '  t.md.tmpl: no placeholder @@spare@@ for a value the generator supplies',
    ]);
  });
});

describe('gen-docs --check on a copy of the repository', () => {
  const temp = mkdtempSync(join(tmpdir(), 'hookrelay-gen-docs-'));
  afterAll(() => rmSync(temp, { recursive: true, force: true }));
  beforeAll(() => {
    // The generators and the docs are copied so they can be broken; src/ and the dependencies are
    // only read, so links suffice.
    for (const path of ['package.json', 'scripts', 'docs'])
      cpSync(join(ROOT, path), join(temp, path), { recursive: true });
    for (const path of ['src', 'node_modules']) symlinkSync(join(ROOT, path), join(temp, path));
  });

  const check = async () => {
    try {
      const { stdout, stderr } = await run(process.execPath, ['scripts/gen-docs.ts', '--check'], {
        cwd: temp,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
      return { code, stdout, stderr };
    }
  };
  const edit = (file: string, change: (text: string) => string) =>
    writeFileSync(join(temp, file), change(readFileSync(join(temp, file), 'utf8')));

  it('lists every stale or missing file and exits 1', async () => {
    edit('docs/metrics.md', (text) => `${text}\nhand edit\n`);
    rmSync(join(temp, 'docs/errors.md'));
    const result = await check();
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'generated docs are stale; run `npm run docs` and commit the result:\n  docs/errors.md\n  docs/metrics.md\n',
    );
  });

  it('fails on a placeholder no generator fills, naming the template and its line', async () => {
    edit('scripts/docs/metrics.md.tmpl', (text) => text.replace('## Labels', '## Labels @@label-count@@'));
    const line = readFileSync(join(temp, 'scripts/docs/metrics.md.tmpl'), 'utf8')
      .split('\n')
      .findIndex((l) => l.includes('@@label-count@@'));
    const result = await check();
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `gen-docs: template does not fit its generator:\n  scripts/docs/metrics.md.tmpl:${line + 1}: unknown placeholder @@label-count@@\n`,
    );
  });
});
