import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cycles, type Edge, folderEdges, layerViolations, specifiers } from './imports.ts';
import { LAYERS } from './layers.ts';

const SRC = resolve(import.meta.dirname, '../../src');

describe('architecture: src/ folders are layered', () => {
  const edges = folderEdges(SRC);

  it('every folder and top-level file of src/ has a layer, and every layer a folder', () => {
    const units = readdirSync(SRC).filter((name) => !name.startsWith('.'));
    const declared = new Set(LAYERS.flat());
    expect(units.filter((unit) => !declared.has(unit))).toEqual([]);
    expect([...declared].filter((unit) => !units.includes(unit))).toEqual([]);
  });

  it('no folder-level import cycle, type imports included', () => {
    expect(cycles(edges)).toEqual([]);
  });

  it('no import runs against the layer order', () => {
    expect(layerViolations(edges, LAYERS)).toEqual([]);
  });
});

describe('architecture: the checks themselves', () => {
  const edge = (from: string, to: string): Edge => ({ from, to, sites: [`${from}/x.ts: ../${to}/y.ts`] });

  it('finds a cycle and a backward import', () => {
    const graph = [
      edge('core', 'config'),
      edge('config', 'auth'),
      edge('auth', 'core'),
      edge('queue', 'core'),
    ];
    expect(cycles(graph)).toEqual([['auth', 'config', 'core']]);
    expect(layerViolations(graph, [['core'], ['auth'], ['config'], ['queue']])).toEqual([
      'core imports config (a higher layer): core/x.ts: ../config/y.ts',
    ]);
    expect(layerViolations([edge('auth', 'signers')], [['core'], ['auth', 'signers']])[0]).toContain(
      'the same layer',
    );
  });

  it('reads type imports, re-exports and dynamic imports, not commented ones', () => {
    const source = `import type { A } from '../a/a.ts';
import { b } from "../b/b.ts";
export { c } from './c.ts';
export * from '../d/d.ts';
const e = await import('../e/e.ts');
// import { f } from '../f/f.ts';
/* import { g } from '../g/g.ts'; */
import {
  h,
} from '../h/h.ts';`;
    expect(specifiers(source)).toEqual([
      '../a/a.ts',
      '../b/b.ts',
      './c.ts',
      '../d/d.ts',
      '../e/e.ts',
      '../h/h.ts',
    ]);
  });
});
