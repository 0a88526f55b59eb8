/**
 * The production build: src/**\/*.ts → dist/**\/*.js with Node's own type stripping (the transform
 * Node applies when it runs the sources, so the code is the same, line for line: types become
 * blanks), relative `.ts` specifiers of imports and `new URL(…, import.meta.url)` rewritten to `.js`,
 * other files copied. dist/ mirrors src/ one level below the package, so paths relative to a module
 * (package.json, node_modules, the console's stylesheet) resolve the same from both.
 *
 * Why (docs/performance.md): running the sources loads Node's TypeScript stripper (a wasm module,
 * ~17 MB RSS) and strips every file at every start. bin/hookrelay.js runs dist/ when it is fresh
 * and builds it first when it is not (about 0.3 s); `node bin/build.js` builds it ahead (the
 * Dockerfile does). Fresh means dist/.build.json names the same sources (path, size, mtime) and
 * the same Node. A build goes to a temporary folder renamed into place, so two processes starting
 * at once never read half a build.
 */
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const STAMP = '.build.json';

/** Every file under dir, depth first, sorted: the same order on every machine. */
function walk(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** A digest of what the build depends on: each source's path, size and mtime, and Node's version. */
export function sourcesDigest(root) {
  const src = join(root, 'src');
  const hash = createHash('sha256').update(process.version);
  for (const file of walk(src)) {
    const stat = statSync(file);
    hash.update(`\n${relative(src, file)}\0${stat.size}\0${stat.mtimeMs}`);
  }
  return hash.digest('hex');
}

export function isFresh(root, digest = sourcesDigest(root)) {
  try {
    return JSON.parse(readFileSync(join(root, 'dist', STAMP), 'utf8')).digest === digest;
  } catch {
    return false;
  }
}

/** Relative specifiers ending in .ts, in static and dynamic imports, exports and module URLs. */
const SPECIFIER = /((?:\bfrom|\bimport)\s*\(?\s*|\bnew URL\(\s*)(['"])(\.{1,2}\/[^'"\n]*?)\.ts\2/g;

export function toJs(source, strip) {
  return strip(source, { mode: 'strip' }).replace(
    SPECIFIER,
    (_m, before, quote, path) => `${before}${quote}${path}.js${quote}`,
  );
}

/** Builds dist/ from src/ (whose digest the caller may have taken); returns the modules written. */
export async function build(root, digest = sourcesDigest(root)) {
  const { stripTypeScriptTypes } = await import('node:module');
  // The API is marked experimental in Node 24; the same transform runs every .ts file Node loads.
  const emit = process.emitWarning;
  process.emitWarning = () => {};
  const src = join(root, 'src');
  const temp = join(root, `dist.tmp-${process.pid}-${Date.now()}`);
  let modules = 0;
  try {
    for (const file of walk(src)) {
      const target = join(temp, relative(src, file));
      mkdirSync(dirname(target), { recursive: true });
      if (file.endsWith('.ts')) {
        writeFileSync(target.slice(0, -3) + '.js', toJs(readFileSync(file, 'utf8'), stripTypeScriptTypes));
        modules++;
      } else copyFileSync(file, target);
    }
    writeFileSync(join(temp, STAMP), `${JSON.stringify({ digest, node: process.version, modules })}\n`);
    swapInto(root, temp, digest);
  } finally {
    process.emitWarning = emit;
    rmSync(temp, { recursive: true, force: true });
  }
  return modules;
}

/** Renames the finished build to dist/, unless another process put a fresh one there first. */
function swapInto(root, temp, digest) {
  const dist = join(root, 'dist');
  if (isFresh(root, digest)) return;
  const old = join(root, `dist.old-${process.pid}-${Date.now()}`);
  try {
    renameSync(dist, old);
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
  try {
    renameSync(temp, dist);
  } catch (error) {
    // Another process renamed its build in between: fine if it is fresh.
    if (!isFresh(root, digest)) throw error;
  }
  rmSync(old, { recursive: true, force: true });
}

/**
 * dist/ ready to run: 'fresh' as it was, 'built' now, or 'unavailable' when it cannot be written
 * (a read-only install): the caller then runs the sources, with the reason.
 */
export async function ensureBuilt(root) {
  const digest = sourcesDigest(root);
  if (isFresh(root, digest)) return { state: 'fresh' };
  try {
    await build(root, digest);
    return { state: 'built' };
  } catch (error) {
    return { state: 'unavailable', reason: error instanceof Error ? error.message : String(error) };
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const started = performance.now();
  const modules = await build(root);
  process.stdout.write(
    `hookrelay: built dist/ (${modules} modules) in ${Math.round(performance.now() - started)} ms\n`,
  );
}
