/**
 * docs/routing.md stays true: every YAML block of it that is a whole config (it starts with
 * `routes:`) loads, and every fragment that is a route's key (`rules:`, `onError:`, `targets:`,
 * `handshake:`, `tests:`) validates when put on a route, so a copied block works.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/gen-docs.ts';
import { parseConfig } from '../../src/config/load.ts';
import { exampleSecret } from '../helpers.ts';

const doc = readFileSync(join(ROOT, 'docs/routing.md'), 'utf8');
const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

function env(text: string): Record<string, string> {
  return Object.fromEntries(
    [...text.matchAll(/\$\{([A-Z0-9_]+)\}/g)].map((m) => [m[1]!, exampleSecret(m[1]!)]),
  );
}

/** A fragment indented as a route key, placed on a plain route. */
function asConfig(block: string): string {
  if (/^routes:/m.test(block)) return block;
  const lines = block.replace(/\n$/, '').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  const body = lines.map((l) => `    ${l.slice(indent)}`).join('\n');
  const forward = /^\s*(targets|forward):/m.test(block)
    ? ''
    : '    forward: { url: "https://example.com/in" }\n';
  return `routes:\n  - id: doc\n    path: /doc\n${forward}${body}\n`;
}

describe('docs/routing.md', () => {
  it('has config blocks', () => {
    expect(blocks.length).toBeGreaterThan(3);
  });

  it.each(blocks.map((b, i) => [i, b] as const))('block %i validates', (_i, block) => {
    const text = asConfig(block);
    expect(() => parseConfig(text, 'routing.md', { env: env(text) })).not.toThrow();
  });
});
