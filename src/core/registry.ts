/**
 * The plugin registry every pluggable kind uses (verifiers, transforms, auth, signers, delivery
 * modes, queue drivers): one contract, and lookups by type that fail with the known types listed.
 */
import type { z } from 'zod';

/** The plugin contract shared by every pluggable kind: a type, its schema fragment, a factory. */
export interface Plugin<TSchema extends z.ZodType, TInstance> {
  type: string;
  description: string;
  schema: TSchema;
  /** `info` says where the instance sits (e.g. a transform step's route and index). */
  create(config: z.output<TSchema>, info?: unknown): TInstance;
}

// biome-ignore lint/suspicious/noExplicitAny: a registry holds plugins of differing config types
type AnyPlugin<T> = Plugin<z.ZodType, T> & { create(config: any, info?: any): T };

export interface Registry<T> {
  kind: string;
  types(): string[];
  get(type: string): AnyPlugin<T>;
  create(config: { type: string }, info?: unknown): T;
}

/** Items of one kind by `type`: a duplicate fails at start, an unknown type names the known ones. */
export interface Lookup<T> {
  kind: string;
  types(): string[];
  get(type: string): T;
}

export function createLookup<T extends { type: string }>(kind: string, items: readonly T[]): Lookup<T> {
  const byType = new Map<string, T>();
  for (const item of items) {
    if (byType.has(item.type)) throw new Error(`duplicate ${kind} type '${item.type}'`);
    byType.set(item.type, item);
  }
  return {
    kind,
    types: () => [...byType.keys()],
    get(type) {
      const item = byType.get(type);
      if (!item)
        throw new Error(`unknown ${kind} type '${type}', expected one of: ${[...byType.keys()].join(', ')}`);
      return item;
    },
  };
}

/** One registry per pluggable kind, on a Lookup. */
export function createRegistry<T>(kind: string, plugins: AnyPlugin<T>[]): Registry<T> {
  const lookup = createLookup(kind, plugins);
  return {
    ...lookup,
    create: (config, info) => lookup.get(config.type).create(config, info),
  };
}
