import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseConfig } from '../../src/config/load.ts';
import { runCli } from '../support/cli.ts';

/**
 * Shared by the worked-example tests: each example in config/examples/ is run end to end through
 * a real relay, and its documented `# Try:` and `# Check:` command lines are run as written.
 */
export const ROOT = resolve(import.meta.dirname, '../..');

export interface Example {
  name: string;
  file: string;
  source: string;
  fixture(name: string): Buffer;
  /** The forwarded body the example must produce from its input fixture. */
  expected: unknown;
}

export function example(name: string): Example {
  const file = `config/examples/${name}.yaml`;
  const fixtures = join(ROOT, 'test/fixtures/examples', name);
  const fixture = (f: string) => readFileSync(join(fixtures, f));
  return {
    name,
    file,
    source: readFileSync(join(ROOT, file), 'utf8'),
    fixture,
    expected: JSON.parse(fixture('expected.json').toString('utf8')),
  };
}

/** The `expect.json` of the route's test case named `name`, as the config loads it. */
export function declaredJson(ex: Example, env: Record<string, string>, testName: string): unknown {
  const config = parseConfig(ex.source, ex.file, { env });
  for (const route of config.routes) {
    const found = route.tests?.find((t) => t.name === testName);
    if (found) return found.expect.json;
  }
  throw new Error(`${ex.file} has no test case named '${testName}'`);
}

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI as a child process from the repository root, stdin closed. */
export function cli(args: string[], env: Record<string, string>): Promise<Result> {
  return runCli(args, env);
}

/** Splits a shell command line: words, 'single-quoted' and "double-quoted" strings. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)) words.push(m[1] ?? m[2] ?? m[3]!);
  return words;
}

/**
 * A documented command line of the example's header (`# Try:`, `# Check:`): the variables set in
 * front of it and the arguments after `npx hookrelay`.
 */
export function documentedCommand(
  ex: Example,
  label: 'Try' | 'Check',
): { env: Record<string, string>; args: string[] } {
  const line = new RegExp(`^# ${label}:\\s+(.*)$`, 'm').exec(ex.source)?.[1];
  if (!line) throw new Error(`${ex.file} has no '# ${label}:' line`);
  const words = shellWords(line);
  const env: Record<string, string> = {};
  while (words.length > 0 && /^[A-Z_][A-Z0-9_]*=/.test(words[0]!)) {
    const word = words.shift()!;
    env[word.slice(0, word.indexOf('='))] = word.slice(word.indexOf('=') + 1);
  }
  const [npx, bin, ...args] = words;
  if (npx !== 'npx' || bin !== 'hookrelay') throw new Error(`'# ${label}:' must run npx hookrelay: ${line}`);
  return { env, args };
}
