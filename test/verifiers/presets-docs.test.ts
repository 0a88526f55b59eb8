import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { presets, renderSecurity, routeYaml } from '../../scripts/docs/security.ts';
import { verifierRegistry } from '../../src/verifiers/index.ts';

/**
 * Every provider preset carries its row of the docs' preset table, has a test file that runs the
 * shared guarantees (test/verifiers/preset-suite.ts), and its section's YAML is a whole route.
 */

const ROOT = join(import.meta.dirname, '..', '..');
/** The verifiers that are building blocks, not one provider's scheme. */
const GENERIC = new Set(['basic', 'apiKey', 'ipAllow', 'hmac']);

describe('provider presets', () => {
  const list = presets();

  it('every verifier but the generic ones is a preset with its table row filled', () => {
    const types = verifierRegistry.types().filter((t) => !GENERIC.has(t));
    expect(list.map((p) => p.type)).toEqual(types);
    expect(list.length).toBeGreaterThanOrEqual(25);
    for (const { type, doc } of list) {
      expect(doc.provider, type).not.toBe('');
      expect(Array.isArray(doc.headers), type).toBe(true);
      for (const field of [doc.signed, doc.scheme, doc.tolerance, doc.rotation, doc.example])
        expect(field.trim(), type).not.toBe('');
      expect(doc.docs, type).toMatch(/^https:\/\//);
      expect(doc.example, type).toMatch(new RegExp(`^type: ${type}\\n`));
      // Secrets are quoted as variables, never inline.
      expect(doc.example, type).not.toMatch(/secrets: \[(?!"\$\{)/);
    }
  });

  it('every preset has a test file that runs the shared preset suite', () => {
    for (const { type } of list) {
      const file = join(ROOT, 'test/verifiers', `${type}.test.ts`);
      expect(existsSync(file), file).toBe(true);
      expect(readFileSync(file, 'utf8'), file).toContain('presetSuite(');
    }
  });

  it('docs/security.md lists each preset in the table and gives it a section with its route', () => {
    const page = renderSecurity();
    for (const preset of list) {
      expect(page).toContain(`| \`${preset.type}\` |`);
      expect(page).toContain(routeYaml(preset));
    }
  });
});
