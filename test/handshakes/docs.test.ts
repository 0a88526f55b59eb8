import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/gen-docs.ts';
import { runCase } from '../../src/cli/test-routes.ts';
import { compileRoutes } from '../../src/config/compile.ts';
import { parseConfig } from '../../src/config/load.ts';
import { exampleSecret } from '../helpers.ts';

/** Every YAML block of docs/routing.md#provider-handshakes loads, and its test cases pass. */

const page = readFileSync(join(ROOT, 'docs/routing.md'), 'utf8');
const section = page.slice(page.indexOf('## Provider handshakes'), page.indexOf('## Fan-out'));
const blocks = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

describe('docs/routing.md: provider handshakes', () => {
  it('has one copyable block per preset', () => {
    const types = blocks.map((yaml) => /handshake:\s*(?:\{ )?\s*type: (\w+)/.exec(yaml)?.[1]);
    expect(types).toEqual([
      'slack',
      'msgraph',
      'okta',
      'meta',
      'zoom',
      'dropbox',
      'x',
      'discord',
      'twitch',
      'woocommerce',
    ]);
  });

  it.each(blocks.map((yaml, i) => [i, yaml] as const))(
    'block %i loads and its tests pass',
    async (_i, yaml) => {
      const env = Object.fromEntries(
        [...yaml.matchAll(/\$\{(\w+)\}/g)].map((m) => [m[1]!, exampleSecret(m[1]!)]),
      );
      const config = parseConfig(`queue: { driver: memory }\n${yaml}`, 'routing.md', { env });
      const [route] = compileRoutes(config);
      for (const test of config.routes[0]!.tests ?? []) {
        const ctx = { baseDir: ROOT, requestIdHeader: 'x-request-id', requestId: 'doc-1' };
        expect(await runCase(route!, test, ctx), test.name).toEqual([]);
      }
    },
  );
});
