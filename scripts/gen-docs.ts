/**
 * Generates the reference docs from the code, which stays the single source of truth. One generator
 * per file in scripts/docs/, the page prose in a Markdown template beside it:
 *   docs/configuration.md       configuration.ts + configuration.md.tmpl  ← the config schema
 *   docs/hookrelay.schema.json  editor-schema.ts                          ← the config schema
 *   docs/errors.md              errors.ts + errors.md.tmpl                ← the error table
 *   docs/metrics.md             metrics.ts + metrics.md.tmpl              ← the metric definitions
 *   docs/security.md            security.ts + security.md.tmpl            ← the provider presets
 * What they read from src/ is imported in one module, scripts/docs/sources.ts.
 *
 * `node scripts/gen-docs.ts` writes them; `--check` regenerates in memory and exits 1, listing every
 * stale file, when any differs from disk byte for byte (CI runs it through `npm test`). A template
 * that does not fit its generator fails either way. The output is deterministic: no timestamps, no
 * machine-dependent values.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { toJsonSchema } from './docs/config-schema.ts';
import { renderConfiguration } from './docs/configuration.ts';
import { renderEditorSchema } from './docs/editor-schema.ts';
import { renderErrors } from './docs/errors.ts';
import { renderMetrics } from './docs/metrics.ts';
import { renderSecurity } from './docs/security.ts';
import { TemplateError } from './docs/template.ts';

export const ROOT = join(import.meta.dirname, '..');

/** Every generated file, by path relative to the repository root. */
export async function generateDocs(): Promise<Record<string, string>> {
  return {
    'docs/hookrelay.schema.json': renderEditorSchema(),
    'docs/configuration.md': renderConfiguration(toJsonSchema('input'), toJsonSchema('output')),
    'docs/errors.md': renderErrors(),
    'docs/metrics.md': await renderMetrics(),
    'docs/security.md': renderSecurity(),
  };
}

/** Files whose content on disk differs from what the code generates, or that are missing. */
export async function staleDocs(root: string = ROOT): Promise<string[]> {
  const docs = await generateDocs();
  return Object.entries(docs)
    .filter(([file, content]) => {
      try {
        return readFileSync(join(root, file), 'utf8') !== content;
      } catch {
        return true;
      }
    })
    .map(([file]) => file);
}

async function check(): Promise<number> {
  const stale = await staleDocs();
  if (stale.length === 0) {
    process.stdout.write('docs are up to date\n');
    return 0;
  }
  process.stderr.write(
    `generated docs are stale; run \`npm run docs\` and commit the result:\n${stale.map((f) => `  ${f}\n`).join('')}`,
  );
  return 1;
}

async function write(): Promise<number> {
  for (const [file, content] of Object.entries(await generateDocs())) {
    mkdirSync(dirname(join(ROOT, file)), { recursive: true });
    writeFileSync(join(ROOT, file), content);
    process.stdout.write(`wrote ${file}\n`);
  }
  return 0;
}

async function run(argv: string[]): Promise<number> {
  try {
    return argv.includes('--check') ? await check() : await write();
  } catch (error) {
    // A template mistake is the editor's to fix, not a bug: its message says where, a stack does not.
    if (!(error instanceof TemplateError)) throw error;
    process.stderr.write(`gen-docs: ${error.message}\n`);
    return 1;
  }
}

if (import.meta.main) {
  process.exitCode = await run(process.argv.slice(2));
}
