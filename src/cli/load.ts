/**
 * Loading a config for a CLI command: which file (`-c`, $HOOKRELAY_CONFIG, the default), loaded
 * and compiled as `start` does, every error printed on failure.
 */
import { type CompiledRoute, compileRoutes } from '../config/compile.ts';
import { loadConfigFile } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { ConfigError } from '../core/errors.ts';

/** The config file a command reads: `-c FILE`, else $HOOKRELAY_CONFIG, else the default. */
export function configFile(option: string | undefined): string {
  return option ?? process.env.HOOKRELAY_CONFIG ?? 'config/hookrelay.yaml';
}

export interface Loaded {
  file: string;
  config: Config;
  routes: CompiledRoute[];
}

/** Loads and compiles a config as `start` does; on failure prints every error (as `validate`). */
export function loadForCommand(file: string): Loaded | undefined {
  try {
    const config = loadConfigFile(file);
    return { file, config, routes: compileRoutes(config) };
  } catch (error) {
    if (error instanceof ConfigError) {
      const n = error.issues.length;
      process.stderr.write(
        `hookrelay: invalid configuration (${n} error${n === 1 ? '' : 's'})\n${error.message}\n`,
      );
      return undefined;
    }
    throw error;
  }
}
