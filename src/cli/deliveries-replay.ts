/**
 * `hookrelay deliveries replay --status dead|delivered [filters]`: replays every delivery the
 * filter matches, in batches, after counting them. `--dry-run` prints the count and changes
 * nothing. More than one match needs a confirmation: asked on a terminal, `--yes` otherwise
 * (exit 2 without it, nothing replayed). A run never replays more than the count confirmed, even
 * when deliveries become dead meanwhile. Runs of more than one batch show progress on stderr: one
 * updating line on a terminal, one line per batch otherwise.
 */
import { createInterface } from 'node:readline/promises';
import type { QueueDriver, ReplayFilter } from '../queue/types.ts';

/** Deliveries replayed per call of the driver. */
export const REPLAY_BATCH = 200;

export interface ReplayRun {
  dryRun: boolean;
  yes: boolean;
  json: boolean;
}

/** What the filter takes, in words: `dead deliveries of route orders with code X, created since T`. */
export function scopeOf(filter: ReplayFilter, n: number): string {
  const conditions = [
    ...(filter.code === undefined ? [] : [`code ${filter.code}`]),
    ...(filter.lastStatus === undefined ? [] : [`last status ${filter.lastStatus}`]),
    ...(filter.since === undefined ? [] : [`created since ${new Date(filter.since).toISOString()}`]),
    ...(filter.until === undefined ? [] : [`created before ${new Date(filter.until).toISOString()}`]),
  ];
  return `${filter.status} deliver${n === 1 ? 'y' : 'ies'}${filter.routeId ? ` of route ${filter.routeId}` : ''}${
    conditions.length ? ` with ${conditions.join(', ')}` : ''
  }`;
}

/** Asks on the terminal; true for y or yes. */
async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^\s*y(es)?\s*$/i.test(await rl.question(question));
  } finally {
    rl.close();
  }
}

export async function replayByFilter(
  driver: QueueDriver,
  filter: ReplayFilter,
  run: ReplayRun,
  print: (text: string) => void,
): Promise<number> {
  const fail = (message: string) => process.stderr.write(`hookrelay deliveries: ${message}\n`);
  const matched = await driver.count(filter);
  const scope = scopeOf(filter, matched);
  if (run.dryRun) {
    print(
      run.json
        ? `${JSON.stringify({ matched, replayed: 0 })}\n`
        : `${matched} ${scope} match; nothing replayed (--dry-run)\n`,
    );
    return 0;
  }
  if (matched > 1 && !run.yes) {
    if (!process.stdin.isTTY) {
      fail(
        `${matched} ${scope} match: pass --yes to replay more than one without a terminal to confirm on (--dry-run only counts them); nothing replayed`,
      );
      return 2;
    }
    if (!(await confirm(`replay ${matched} ${scope}? [y/N] `))) {
      fail('not confirmed; nothing replayed');
      return 1;
    }
  }
  const progress = matched > REPLAY_BATCH;
  const tty = process.stderr.isTTY === true;
  let replayed = 0;
  while (replayed < matched) {
    const n = await driver.replay(
      { ...filter, limit: Math.min(REPLAY_BATCH, matched - replayed) },
      Date.now(),
    );
    if (n === 0) break; // replayed by someone else meanwhile, or purged
    replayed += n;
    if (progress)
      process.stderr.write(tty ? `\rreplayed ${replayed}/${matched}` : `replayed ${replayed}/${matched}\n`);
  }
  if (progress && tty) process.stderr.write('\n');
  const hint = `; a running relay delivers ${replayed === 1 ? 'it' : 'them'} within its poll interval`;
  print(
    run.json
      ? `${JSON.stringify({ matched, replayed })}\n`
      : `replayed ${replayed} ${scopeOf(filter, replayed)}${replayed ? hint : ''}\n`,
  );
  return 0;
}
