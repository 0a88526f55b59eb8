import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The import graph of src/ by folder, read from the sources: static imports and re-exports
 * (`import type` included), and dynamic `import()`. A top-level file (`app.ts`, `main.ts`) is a
 * unit of its own, named by its file name.
 */

export interface Edge {
  from: string;
  to: string;
  /** `file: specifier` of each import that makes the edge. */
  sites: string[];
}

const IMPORT =
  /(?:^|[\s;])(?:import|export)\s(?:[^'";]*?\sfrom\s)?\s*['"](\.{1,2}\/[^'"]+)['"]|\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

export function sourceFiles(root: string): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts')) files.push(path);
    }
  };
  walk(root);
  return files.sort();
}

/** The folder (or top-level file) of a path under `root`. */
export function unitOf(root: string, path: string): string {
  const rel = relative(root, path);
  return rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : rel;
}

/** Relative import specifiers of a source text (comments and strings outside imports ignored). */
export function specifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  return [...code.matchAll(IMPORT)].map((m) => (m[1] ?? m[2])!);
}

export function folderEdges(root: string): Edge[] {
  const edges = new Map<string, Edge>();
  for (const file of sourceFiles(root)) {
    const from = unitOf(root, file);
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(`${root}/`)) continue;
      const to = unitOf(root, target);
      if (to === from) continue;
      const key = `${from}\0${to}`;
      const edge = edges.get(key) ?? { from, to, sites: [] };
      edge.sites.push(`${relative(root, file)}: ${spec}`);
      edges.set(key, edge);
    }
  }
  return [...edges.values()];
}

/** Strongly connected components with more than one unit (Tarjan): each is a cycle. */
export function cycles(edges: readonly Edge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) {
    next.set(from, [...(next.get(from) ?? []), to]);
    if (!next.has(to)) next.set(to, []);
  }
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (unit: string) => {
    indexOf.set(unit, index);
    low.set(unit, index);
    index++;
    stack.push(unit);
    onStack.add(unit);
    for (const to of next.get(unit) ?? []) {
      if (!indexOf.has(to)) {
        visit(to);
        low.set(unit, Math.min(low.get(unit)!, low.get(to)!));
      } else if (onStack.has(to)) low.set(unit, Math.min(low.get(unit)!, indexOf.get(to)!));
    }
    if (low.get(unit) === indexOf.get(unit)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== unit);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const unit of [...next.keys()].sort()) if (!indexOf.has(unit)) visit(unit);
  return found;
}

/**
 * Imports that run against the layer order: a unit may import only units of a lower layer (or of
 * its own folder). Units of one layer (the plugin kinds) may not import each other.
 */
export function layerViolations(edges: readonly Edge[], layers: readonly (readonly string[])[]): string[] {
  const rank = new Map<string, number>();
  layers.forEach((units, i) => {
    for (const unit of units) rank.set(unit, i);
  });
  const out: string[] = [];
  for (const edge of edges) {
    const a = rank.get(edge.from);
    const b = rank.get(edge.to);
    if (a === undefined || b === undefined) continue;
    if (b < a) continue;
    const why = b === a ? 'the same layer' : 'a higher layer';
    out.push(`${edge.from} imports ${edge.to} (${why}): ${edge.sites.join(', ')}`);
  }
  return out.sort();
}
