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

/** One Map per pluggable kind: duplicates fail at start, unknown types name the known ones. */
export function createRegistry<T>(kind: string, plugins: AnyPlugin<T>[]): Registry<T> {
  const byType = new Map<string, AnyPlugin<T>>();
  for (const plugin of plugins) {
    if (byType.has(plugin.type)) throw new Error(`duplicate ${kind} type '${plugin.type}'`);
    byType.set(plugin.type, plugin);
  }
  const registry: Registry<T> = {
    kind,
    types: () => [...byType.keys()],
    get(type) {
      const plugin = byType.get(type);
      if (!plugin) {
        throw new Error(`unknown ${kind} type '${type}', expected one of: ${[...byType.keys()].join(', ')}`);
      }
      return plugin;
    },
    create(config, info) {
      return registry.get(config.type).create(config, info);
    },
  };
  return registry;
}
