/**
 * Which settings a reload can apply and which need a restart. Routes, their targets, credentials,
 * transforms and queue limits are compiled anew and swapped; the listeners' address and limits,
 * the queue's store, the admin listener, the metrics endpoint and the parsing workers are built
 * once at start. A reload that changes one of those reports it (`restartRequired`, a warning in
 * the log) and keeps running with the value it started with, rather than silently ignoring it.
 */
import type { Config } from '../config/schema.ts';

/** Sections built once at start, and the keys of theirs a reload may still change. */
const FIXED: Record<string, readonly string[]> = {
  server: ['watchConfig'],
  queue: [],
  admin: [],
  metrics: [],
  parsing: [],
};

/** `section.key` of every fixed setting whose value differs between the running and the new config. */
export function restartRequired(running: Config, next: Config): string[] {
  const changed: string[] = [];
  for (const [section, live] of Object.entries(FIXED)) {
    const a = (running as unknown as Record<string, Record<string, unknown> | undefined>)[section] ?? {};
    const b = (next as unknown as Record<string, Record<string, unknown> | undefined>)[section] ?? {};
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (live.includes(key)) continue;
      if (!same(a[key], b[key])) changed.push(`${section}.${key}`);
    }
  }
  return changed.sort();
}

/** The route ids a new configuration adds, removes and changes (any key of the route's block). */
export function routeChanges(
  running: Config,
  next: Config,
): { added: string[]; removed: string[]; changed: string[] } {
  const before = new Map(running.routes.map((route) => [route.id, route]));
  const after = new Map(next.routes.map((route) => [route.id, route]));
  const added = [...after.keys()].filter((id) => !before.has(id));
  const removed = [...before.keys()].filter((id) => !after.has(id));
  // `defaults` apply to every route: a change there changes each.
  const defaults = !same(
    (running as { defaults?: unknown }).defaults,
    (next as { defaults?: unknown }).defaults,
  );
  const changed = [...after.keys()].filter(
    (id) => before.has(id) && (defaults || !same(before.get(id), after.get(id))),
  );
  return { added, removed, changed };
}

function same(a: unknown, b: unknown): boolean {
  return stable(a) === stable(b);
}

/** JSON with object keys sorted, so key order in the file does not count as a change. */
function stable(value: unknown): string {
  return (
    JSON.stringify(value, (_key, v: unknown) =>
      v && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v)
        ? Object.fromEntries(
            Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : 1)),
          )
        : v,
    ) ?? 'undefined'
  );
}
