import { spawnSync } from 'node:child_process';

/**
 * System programs some tests need (promtool and the prometheus server, from Debian's `prometheus`;
 * redis-server, from Debian's `redis-server`, see redis-server.ts; any later one goes here too,
 * with its install step in `.ci/run`). The README promises that `npm test` passes on a machine
 * with only npm, so a missing tool skips the tests that need it, saying so; under CI (`CI=true`,
 * which `.ci/run` sets and where it installs every tool) a missing tool is an error, so CI can
 * never go green by skipping.
 */
export interface ToolSpec {
  /** Program name looked up on PATH. */
  name: string;
  /** Environment variable that may point at the program instead. */
  env?: string;
  /** How to get it, for the message. */
  install: string;
}

export function findTool(spec: ToolSpec, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const given = spec.env ? env[spec.env] : undefined;
  const candidate = given && given !== '' ? given : spec.name;
  const probe = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', candidate], { encoding: 'utf8', env });
  const path = probe.status === 0 ? probe.stdout.trim() : '';
  return path === '' ? undefined : path;
}

/** True when the environment says this run is CI (`CI=true` or `CI=1`, as most CI systems set it). */
export function underCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI === 'true' || env.CI === '1';
}

/**
 * The tool's path, or undefined (after a warning on stderr) when it is missing outside CI.
 * Throws under CI: the suite that needs it must fail there, not skip.
 */
export function requireTool(
  spec: ToolSpec,
  env: NodeJS.ProcessEnv = process.env,
  warn: (message: string) => void = (message) => process.stderr.write(`${message}\n`),
): string | undefined {
  const path = findTool(spec, env);
  if (path) return path;
  const where = spec.env ? ` (or set ${spec.env}=/path/to/${spec.name})` : '';
  const message = `${spec.name} not found: ${spec.install}${where}`;
  if (underCi(env)) throw new Error(`${message}. CI=true requires it (.ci/run installs it).`);
  warn(`skipping the tests that need ${spec.name}: ${message}`);
  return undefined;
}
