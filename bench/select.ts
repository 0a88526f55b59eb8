/**
 * bench/run.ts' command line: which scenarios a run measures. `--only a,b` (or `--only=a,b`)
 * picks scenarios by name; `--xml-flood`, `--redis` and `--tracing` are aliases of `--only` with
 * that name and add up with it; `--smoke` shortens whatever is selected; `--soak` is a mode of its
 * own. A name or flag it does not know is an error listing the valid ones (exit 2).
 */
import { SMALL_BODY } from './scenarios.ts';

export const SCENARIOS = [
  ...SMALL_BODY,
  'fixed-rate',
  'large',
  'redis',
  'xml-flood',
  'attack',
  'tracing',
  'startup',
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

const FLAG_ALIASES: Record<string, ScenarioName> = {
  '--xml-flood': 'xml-flood',
  '--redis': 'redis',
  '--tracing': 'tracing',
};

export interface Selection {
  smoke: boolean;
  soak: boolean;
  /** What to measure, in SCENARIOS order. */
  scenarios: Set<ScenarioName>;
  /** Whether the run was narrowed (--only or an alias flag). */
  only: boolean;
}

export class UsageError extends Error {}

function resolve(name: string): ScenarioName {
  const known = (SCENARIOS as readonly string[]).includes(name) ? (name as ScenarioName) : undefined;
  // The retry scenario prints as retry-503-1-in-<N>: that name selects it too.
  const resolved = known ?? (/^retry-503-1-in-\d+$/.test(name) ? 'retry' : undefined);
  if (resolved) return resolved;
  const soak = name === 'soak' ? ' (soak runs with --soak)' : '';
  throw new UsageError(`unknown scenario '${name}'${soak}, expected one of: ${SCENARIOS.join(', ')}`);
}

export function parseArgs(argv: string[]): Selection {
  let smoke = false;
  let soak = false;
  const picked = new Set<ScenarioName>();
  let only = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--smoke') smoke = true;
    else if (arg === '--soak') soak = true;
    else if (arg in FLAG_ALIASES) {
      picked.add(FLAG_ALIASES[arg]!);
      only = true;
    } else if (arg === '--only' || arg.startsWith('--only=')) {
      const list = arg === '--only' ? argv[++i] : arg.slice('--only='.length);
      if (!list || list.startsWith('--'))
        throw new UsageError(`--only needs a comma-separated list of: ${SCENARIOS.join(', ')}`);
      for (const name of list
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean))
        picked.add(resolve(name));
      only = true;
    } else
      throw new UsageError(
        `unknown argument '${arg}', expected --smoke, --soak, --only SCENARIO[,SCENARIO…], --xml-flood, --redis or --tracing`,
      );
  }
  if (soak && only) throw new UsageError('--soak runs alone: it does not combine with --only');
  // Without --only: everything; the smoke run leaves out the 10 s fixed-rate run, as before.
  const all = SCENARIOS.filter((s) => !(smoke && s === 'fixed-rate'));
  const scenarios = new Set(only ? SCENARIOS.filter((s) => picked.has(s)) : soak ? [] : all);
  return { smoke, soak, scenarios, only };
}
