import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileRoutes } from '../../src/config/compile.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { SyncRoute } from '../../src/modes/sync/index.ts';

/** The `forward:` snippets of docs/security.md's outbound sections are valid configuration as written. */

const ROOT = resolve(import.meta.dirname, '../..');
const doc = readFileSync(join(ROOT, 'docs/security.md'), 'utf8');
const FIXTURES = join(ROOT, 'test/fixtures/tls');

const SECTIONS = ['Outbound credentials', 'Signing forwarded requests', 'mTLS and CA pinning', 'Redirects'];

function section(title: string): string {
  const start = doc.indexOf(`\n## ${title}\n`);
  if (start === -1) throw new Error(`docs/security.md has no '## ${title}' section`);
  const next = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, next === -1 ? undefined : next);
}

const snippets = SECTIONS.flatMap((title) =>
  [...section(title).matchAll(/```yaml\n(forward:\n[\s\S]*?)```/g)].map((m, i) => [
    `${title} #${i + 1}`,
    m[1]!,
  ]),
);

/** Secret files as the snippets name them: PEM fixtures for certificates and keys. */
function readFile(path: string): string {
  if (/\.key$/.test(path)) return readFileSync(join(FIXTURES, 'client-1.key'), 'utf8');
  if (/\.(crt|pem)$/.test(path)) return readFileSync(join(FIXTURES, 'ca-a.crt'), 'utf8');
  return 'secret-from-file';
}

describe('docs/security.md outbound snippets', () => {
  it('each section has at least one snippet', () => {
    for (const title of SECTIONS) expect(section(title)).toMatch(/```yaml\nforward:/);
  });

  it.each(snippets)('%s loads and compiles', (_name, snippet) => {
    const indented = snippet
      .split('\n')
      .map((line) => (line ? `    ${line}` : line))
      .join('\n');
    const yaml = `routes:\n  - id: doc\n    path: /doc\n${indented}`;
    const env: Record<string, string> = {};
    for (const [, name] of yaml.matchAll(/\$\{([A-Z_][A-Z0-9_]*)\}/g)) {
      env[name!] = /WEBHOOK_SECRET$/.test(name!) ? 'whsec_dGVzdC1zaWduaW5nLWtleQ==' : 'test-value';
    }
    const config = parseConfig(yaml, 'security.md', { env, readFile });
    const [route] = compileRoutes(config) as SyncRoute[];
    expect(route!.forward).toBeDefined();
  });
});
