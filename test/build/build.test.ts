/**
 * The production build (bin/build.js): what it writes from a small source tree, when it is fresh,
 * and that the repository's own dist/ holds every module with no `.ts` specifier left.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: bin/build.js is plain JavaScript (it must load without type stripping).
import { build, ensureBuilt, isFresh } from '../../bin/build.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
const RECORD_LOADS = fileURLToPath(new URL('../telemetry/fixtures/record-loads.mjs', import.meta.url));
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'hookrelay-build-'));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, 'src', path, '..'), { recursive: true });
    writeFileSync(join(root, 'src', path), text);
  }
  writeFileSync(join(root, 'package.json'), '{"type":"module"}');
  return root;
}

function files(top: string, dir = top): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(top, join(dir, e.name)) : [relative(top, join(dir, e.name))],
  );
}

describe('bin/build.js', () => {
  it('strips types line for line, rewrites relative .ts specifiers, copies other files, and the result runs', async () => {
    const root = tree({
      'main.ts': [
        "import { twice } from './lib/math.ts';",
        "import type { Unit } from './lib/math.ts';",
        "export { twice } from './lib/math.ts';",
        'const unit: Unit = { n: 21 };',
        "const { three } = await import('./lib/three.ts');",
        "const css = new URL('./lib/style.css', import.meta.url);",
        "const worker = new URL('./lib/three.ts', import.meta.url);",
        "const note: string = 'a string that says ./x.ts stays as it is';",
        'console.log(twice(unit.n), three, css.pathname.endsWith(".css"), worker.pathname.endsWith("three.js"), note);',
      ].join('\n'),
      'lib/math.ts':
        'export interface Unit { n: number }\nexport function twice(n: number): number {\n  return n * 2;\n}\n',
      'lib/three.ts': 'export const three: number = 3;\n',
      'lib/style.css': 'body { color: red }\n',
    });
    expect(await build(root)).toBe(3);
    expect(files(join(root, 'dist')).sort()).toEqual(
      ['.build.json', 'lib/math.js', 'lib/style.css', 'lib/three.js', 'main.js'].sort(),
    );
    const main = readFileSync(join(root, 'dist/main.js'), 'utf8');
    // Same lines as the source: a stack trace from dist/ points at the line in src/.
    expect(main.split('\n')).toHaveLength(9);
    expect(main).toContain("from './lib/math.js'");
    expect(main).toContain("import('./lib/three.js')");
    expect(main).toContain("new URL('./lib/three.js', import.meta.url)");
    expect(main).toContain("'a string that says ./x.ts stays as it is'");
    expect(main).not.toContain(': Unit');
    const run = spawnSync(NODE, [join(root, 'dist/main.js')], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('42 3 true true a string that says ./x.ts stays as it is\n');
  });

  it('is fresh until a source changes, is added or removed; ensureBuilt rebuilds only then', async () => {
    const root = tree({ 'a.ts': 'export const a: number = 1;\n' });
    expect(isFresh(root)).toBe(false);
    expect((await ensureBuilt(root)).state).toBe('built');
    expect((await ensureBuilt(root)).state).toBe('fresh');
    const later = new Date(Date.now() + 5_000);
    writeFileSync(join(root, 'src/a.ts'), 'export const a: number = 2;\n');
    utimesSync(join(root, 'src/a.ts'), later, later);
    expect(isFresh(root)).toBe(false);
    expect((await ensureBuilt(root)).state).toBe('built');
    expect(readFileSync(join(root, 'dist/a.js'), 'utf8')).toContain('= 2');
    writeFileSync(join(root, 'src/b.ts'), 'export const b = 1;\n');
    expect(isFresh(root)).toBe(false);
    await ensureBuilt(root);
    rmSync(join(root, 'src/b.ts'));
    expect(isFresh(root)).toBe(false);
    expect((await ensureBuilt(root)).state).toBe('built');
    expect(existsSync(join(root, 'dist/b.js'))).toBe(false);
    // No temporary or replaced build is left behind.
    expect(readdirSync(root).sort()).toEqual(['dist', 'package.json', 'src']);
  });

  it("the repository's dist/ (built by the test setup) holds a module per source and no relative .ts specifier", () => {
    const sources = files(join(ROOT, 'src')).filter((f) => f.endsWith('.ts'));
    const built = new Set(files(join(ROOT, 'dist')));
    expect(sources.filter((f) => !built.has(f.replace(/\.ts$/, '.js')))).toEqual([]);
    const leftovers: string[] = [];
    for (const file of built) {
      if (!file.endsWith('.js')) continue;
      const text = readFileSync(join(ROOT, 'dist', file), 'utf8');
      for (const m of text.matchAll(
        /(?:\bfrom\s*|\bimport\s*\(\s*|\bnew URL\(\s*)['"](\.{1,2}\/[^'"]*)['"]/g,
      ))
        if (m[1]!.endsWith('.ts')) leftovers.push(`${file}: ${m[1]}`);
    }
    expect(leftovers).toEqual([]);
    expect(isFresh(ROOT)).toBe(true);
  });

  it('bin/hookrelay.js runs dist/, or the sources with HOOKRELAY_FROM_SOURCE=1', () => {
    const loaded = (env: Record<string, string>) => {
      const run = spawnSync(NODE, ['--import', RECORD_LOADS, 'bin/hookrelay.js', '--version'], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, ...env },
      });
      expect(run.status).toBe(0);
      const line = run.stdout.split('\n').find((l) => l.startsWith('LOADED '))!;
      return (JSON.parse(line.slice('LOADED '.length)) as string[]).filter((url) => url.startsWith('file:'));
    };
    const fromDist = loaded({});
    expect(fromDist.some((url) => url.endsWith('/dist/main.js'))).toBe(true);
    expect(fromDist.filter((url) => url.endsWith('.ts'))).toEqual([]);
    const fromSource = loaded({ HOOKRELAY_FROM_SOURCE: '1' });
    expect(fromSource.some((url) => url.endsWith('/src/main.ts'))).toBe(true);
    expect(fromSource.some((url) => url.startsWith(pathToFileURL(join(ROOT, 'dist')).href))).toBe(false);
  });
});
