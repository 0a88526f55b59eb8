/**
 * `hookrelay test` on a fan-out route: `expect.chosen` (exactly the targets chosen, in order) and
 * `expect.targets.<name>` (the request that target must get), compared with what the relay would
 * send to each (dry-run-targets.ts). Nothing is sent.
 */
import type { TargetRun } from './dry-run-targets.ts';
import { type RequestExpect, requestProblems } from './expect-request.ts';

export interface FanoutExpect extends RequestExpect {
  targets?: Record<string, RequestExpect> | undefined;
  chosen?: string[] | undefined;
}

/** What differs; `runs` undefined: the route has no `targets`. */
export function fanoutProblems(
  routeId: string,
  expect: FanoutExpect,
  runs: TargetRun[] | undefined,
): string[] {
  if (!runs) {
    return [
      `targets: route ${routeId} has no \`targets\`: expect its request with method, url, headers, body or json`,
    ];
  }
  const problems: string[] = [];
  const top = (['method', 'url', 'headers', 'body', 'json'] as const).filter((k) => expect[k] !== undefined);
  if (top.length > 0) {
    problems.push(
      `${top.join(', ')}: route ${routeId} fans out: expect each target's request under \`expect.targets.<name>\``,
    );
  }
  const names = runs.map((r) => r.name);
  const list = (xs: readonly string[]) => (xs.length ? xs.join(', ') : 'none');
  if (expect.chosen !== undefined && expect.chosen.join('\n') !== names.join('\n')) {
    problems.push(`chosen: expected ${list(expect.chosen)}, got ${list(names)}`);
  }
  for (const [name, expected] of Object.entries(expect.targets ?? {})) {
    const run = runs.find((r) => r.name === name);
    if (!run) problems.push(`targets.${name}: not chosen for this call (chosen: ${list(names)})`);
    else problems.push(...requestProblems(expected, run.authorised).map((p) => `targets.${name}: ${p}`));
  }
  return problems;
}
