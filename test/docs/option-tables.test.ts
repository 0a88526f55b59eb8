import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/gen-docs.ts';
import { parseDuration, parseSize } from '../../src/core/units.ts';

/**
 * Pages that list options beside their explanation (docs/queue.md) repeat each default shown in
 * the generated reference: the two must agree, or a user follows the wrong one. Every table row
 * that links a key into configuration.md and shows a default is checked against the reference's
 * summary table, which is generated from the schema.
 */

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** `| [\`key\`](configuration.md#anchor) … | default | …`: the key, its anchor, the default shown. */
const OPTION_ROW = /^\| \[`([^`]+)`\]\(configuration\.md#([a-z0-9]+)\)[^|]* \| ([^|]*) \|/m;

/** anchor → the Default cell of configuration.md's summary tables. */
function referenceDefaults(): Map<string, string> {
  const defaults = new Map<string, string>();
  for (const line of read('docs/configuration.md').split('\n')) {
    const m = /^\| \[`[^`]+`\]\(#([a-z0-9]+)\) \| [^|]* \| ([^|]*) \|/.exec(line);
    if (m) defaults.set(m[1]!, m[2]!.trim());
  }
  return defaults;
}

function same(a: string, b: string): boolean {
  if (a === b) return true;
  for (const parse of [parseDuration, parseSize]) {
    try {
      return parse(a) === parse(b);
    } catch {
      // not this unit
    }
  }
  return false;
}

/** Every page outside the generated ones with such a table: README.md and docs/*.md. */
const pages = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((f) => `docs/${f}`)].filter(
  (f) => f.endsWith('.md') && f !== 'docs/configuration.md' && OPTION_ROW.test(read(f)),
);

describe('option tables', () => {
  it('docs/queue.md has them', () => {
    expect(pages).toContain('docs/queue.md');
  });
});

describe.each(pages)('%s option tables', (file) => {
  const rows = read(file)
    .split('\n')
    .map((line) => OPTION_ROW.exec(line))
    .filter((m): m is RegExpExecArray => m !== null);

  it('show the defaults of the generated reference', () => {
    const reference = referenceDefaults();
    const wrong: string[] = [];
    for (const [, key, anchor, cell] of rows) {
      const shown = cell!.trim();
      const expected = reference.get(anchor!);
      if (expected === undefined) {
        wrong.push(`${key}: no such key in configuration.md (#${anchor})`);
        continue;
      }
      if (shown === 'none') {
        if (expected !== '') wrong.push(`${key}: shown as none, the default is ${expected}`);
        continue;
      }
      const value = /^`([^`]*)`$/.exec(shown)?.[1];
      const want = /`([^`]*)`/.exec(expected)?.[1];
      if (value === undefined) continue; // prose, e.g. "`defaults.retry`" as a link
      if (want === undefined || !same(value, want))
        wrong.push(`${key}: shown as ${shown}, the default is ${expected || 'none'}`);
    }
    expect(wrong).toEqual([]);
  });
});
