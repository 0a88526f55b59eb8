/**
 * `hookrelay deliveries`: list, show, replay and purge the queued deliveries of a config's queue
 * (SQLite file or Redis) from the command line, as text or JSON, with every secret value of the configuration
 * redacted. Replaying by a filter (counting, confirming, batches, progress) is deliveries-replay.ts'.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError } from '../core/errors.ts';
import type { SecretValues } from '../core/secret-values.ts';
import { parseInstant } from '../present/instant.ts';
import { describe, table } from '../present/text.ts';
import { attemptView, detail, isStatus, parseAge, STATUSES, summary } from '../present/view.ts';
import type { DeliveryFilter, QueueDriver } from '../queue/types.ts';
import { createLogger } from '../telemetry/log.ts';
import { replayByFilter } from './deliveries-replay.ts';
import { configFile } from './load.ts';
import { type QueueSection, queueConfig } from './queue-config.ts';

export const DELIVERIES_HELP = `Usage: hookrelay deliveries <command> [-c FILE] [options]

Inspects and acts on the queued deliveries of async and hybrid routes, directly in the config's
store (the SQLite file \`queue.path\`, or Redis with \`queue.driver: redis\`), whether the relays
are running or stopped.

Commands:
  list [--route R] [--status S] [FILTERS] [--limit N] [--json]
                        deliveries, oldest first: id, route, status, attempts, last result, age
  show ID [--json]      one delivery: its record, the stored request and every attempt
  replay ID...          make dead (or delivered) deliveries pending again, due now
  replay --status dead|delivered [--route R] [FILTERS] [--dry-run] [--yes] [--json]
                        replay every delivery the filters match, in batches of 200; --dry-run
                        prints how many match and changes nothing. More than one match needs a
                        confirmation: asked when stdin is a terminal; otherwise --yes is
                        required (without it: exit 2, nothing replayed). Runs of more than one
                        batch show progress on stderr. --json prints {"matched","replayed"}
  purge --status delivered|dead --older-than AGE [--route R]
                        delete finished deliveries last changed more than AGE ago (e.g. 7d, 12h)
  migrate --to redis [--from FILE] [--dry-run] [--include-delivered] [--force] [--json]
                        move the deliveries of a SQLite file into the Redis of a config that
                        now has queue.driver: redis (see: deliveries migrate --help)

Options:
  -c, --config FILE     config file (default: $HOOKRELAY_CONFIG, else config/hookrelay.yaml)
  -r, --route ID        only this route's deliveries
  -s, --status S        ${STATUSES.join(', ')}
  -n, --limit N         list at most N deliveries (default 100)
      --older-than AGE  purge only deliveries last changed more than AGE ago
      --json            print JSON, as the admin API answers

Filters (list and replay; every one given must hold):
      --code C          the last attempt's error code, e.g. HOOKRELAY_ERR_UPSTREAM_TIMEOUT
                        or HOOKRELAY_ERR_UPSTREAM_UNREACHABLE (see docs/errors.md)
      --last-status N   the last attempt's HTTP status, e.g. 503
      --since T         accepted at or after T: ISO 8601 (UTC without an offset), or an age
                        counted back from now such as 2h, 30m or 7d
      --until T         accepted before T (same forms)
      --dry-run         replay: print how many match, change nothing
  -y, --yes             replay: no confirmation for more than one match

A running relay picks replayed deliveries up within its poll interval. Exit status: 0 on success,
1 when a delivery is not found or the queue cannot be read, 2 on a usage error. See docs/queue.md.`;

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      route: { type: 'string', short: 'r' },
      status: { type: 'string', short: 's' },
      limit: { type: 'string', short: 'n' },
      'older-than': { type: 'string' },
      code: { type: 'string' },
      'last-status': { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      yes: { type: 'boolean', short: 'y', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

type Values = ReturnType<typeof parse>['values'];
/** Writes to stdout with every secret value of the configuration (when it could be loaded) redacted. */
type Print = (text: string) => void;
type Command = (driver: QueueDriver, values: Values, ids: string[], print: Print) => Promise<number>;

/** Options each command accepts besides -c, --help; anything else given is a usage error. */
const FILTERS = ['code', 'last-status', 'since', 'until'] as const;
const ACCEPTS: Record<string, (keyof Values)[]> = {
  list: ['route', 'status', ...FILTERS, 'limit', 'json'],
  show: ['json'],
  replay: ['route', 'status', ...FILTERS, 'dry-run', 'yes', 'json'],
  purge: ['route', 'status', 'older-than', 'json'],
};

export async function runDeliveries(argv: string[]): Promise<number> {
  const at = commandAt(argv);
  if (at !== undefined && argv[at] === 'migrate') {
    // Loaded here: it opens two stores, which no other command needs.
    const { runMigrate } = await import('./migrate.ts');
    return runMigrate(argv.toSpliced(at, 1));
  }
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parse(argv));
  } catch (error) {
    return usage((error as Error).message);
  }
  const [name, ...ids] = positionals;
  if (values.help || name === 'help') {
    process.stdout.write(`${DELIVERIES_HELP}\n`);
    return 0;
  }
  if (name === undefined) return usage('a command is required: list, show, replay, purge or migrate');
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command)
    return usage(`unknown command '${name}', expected one of: list, show, replay, purge, migrate`);
  try {
    check(name, values, ids);
  } catch (error) {
    return usage((error as Error).message);
  }
  const opened = await open(configFile(values.config));
  if (typeof opened === 'number') return opened;
  const { driver, secrets } = opened;
  const print: Print = (text) => process.stdout.write(secrets.redact(text));
  try {
    return await command(driver, values, ids, print);
  } catch (error) {
    fail(`cannot read the queue: ${(error as Error).message}`);
    return 1;
  } finally {
    await driver.close();
  }
}

/** Where the command's name is: the first argument that is neither an option nor -c's value. */
function commandAt(argv: string[]): number | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-c' || arg === '--config') i += 1;
    else if (!arg.startsWith('-')) return i;
  }
  return undefined;
}

function usage(message: string): number {
  process.stderr.write(`hookrelay deliveries: ${message}\n\n${DELIVERIES_HELP}\n`);
  return 2;
}

function fail(message: string): void {
  process.stderr.write(`hookrelay deliveries: ${message}\n`);
}

function check(name: string, values: Values, ids: string[]): void {
  const keys = ['route', 'status', ...FILTERS, 'limit', 'older-than', 'dry-run', 'yes', 'json'] as const;
  for (const key of keys) {
    const value = values[key];
    const given = typeof value === 'boolean' ? value : value !== undefined;
    if (given && !ACCEPTS[name]!.includes(key)) throw new Error(`--${key} does not apply to '${name}'`);
  }
  if (values.status !== undefined && !isStatus(values.status)) {
    throw new Error(`--status must be one of ${STATUSES.join(', ')}, got '${values.status}'`);
  }
  if (values.limit !== undefined && (!/^\d+$/.test(values.limit) || Number(values.limit) < 1)) {
    throw new Error('--limit must be a positive integer');
  }
  if (name === 'list' && ids.length > 0) throw new Error(`'list' takes no arguments, got '${ids[0]}'`);
  if (name === 'show' && ids.length !== 1) throw new Error("'show' takes exactly one delivery id");
  filterOf(values, Date.now());
  if (name === 'replay') {
    const filtered = (['status', 'route', ...FILTERS, 'dry-run', 'yes'] as const).filter(
      (key) => values[key],
    );
    if (ids.length > 0 && filtered.length > 0) {
      throw new Error(
        `'replay' takes delivery ids or --status with filters, not both (got --${filtered[0]})`,
      );
    }
    if (ids.length === 0 && values.status === undefined) {
      throw new Error(
        "'replay' needs delivery ids, or --status dead (optionally with --route R and filters)",
      );
    }
    if (values.status !== undefined && values.status !== 'dead' && values.status !== 'delivered') {
      throw new Error("'replay --status' takes dead or delivered");
    }
  }
  if (name === 'purge') {
    if (ids.length > 0) throw new Error(`'purge' takes no delivery ids, got '${ids[0]}'`);
    if (values.status !== 'delivered' && values.status !== 'dead') {
      // Pending and in-flight deliveries were acknowledged to their callers: never purged.
      throw new Error("'purge' needs --status delivered or --status dead");
    }
    if (values['older-than'] === undefined) throw new Error("'purge' needs --older-than, e.g. 7d or 12h");
    parseAge(values['older-than']);
  }
}

/** The filter options given (list, replay); throws naming the option when one is malformed. */
function filterOf(values: Values, now: number): DeliveryFilter {
  const lastStatus = values['last-status'];
  if (
    lastStatus !== undefined &&
    (!/^\d{3}$/.test(lastStatus) || Number(lastStatus) < 100 || Number(lastStatus) > 599)
  ) {
    throw new Error(`--last-status must be an HTTP status from 100 to 599, got '${lastStatus}'`);
  }
  if (values.code === '') throw new Error('--code must not be empty');
  const time = (key: 'since' | 'until') =>
    values[key] === undefined ? undefined : parseInstant(values[key], `--${key}`, now, { age: true });
  return {
    routeId: values.route,
    status: isStatus(values.status) ? values.status : undefined,
    code: values.code,
    lastStatus: lastStatus === undefined ? undefined : Number(lastStatus),
    since: time('since'),
    until: time('until'),
  };
}

/** Opens the config's queue (its SQLite file, or Redis); an exit code when there is nothing to open. */
async function open(file: string): Promise<{ driver: QueueDriver; secrets: SecretValues } | number> {
  let queue: QueueSection;
  let secrets: SecretValues;
  try {
    ({ queue, secrets } = queueConfig(file));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const n = error.issues.length;
    fail(`invalid configuration (${n} error${n === 1 ? '' : 's'})\n${error.message}`);
    return 1;
  }
  if (queue.driver === 'memory') {
    fail(
      `${file} uses queue.driver: memory: deliveries live only inside the running relay's process, so there is nothing here to inspect (the admin API can list them while it runs)`,
    );
    return 1;
  }
  // Opening would create an empty queue: say where we looked instead.
  if (queue.driver === 'sqlite' && !existsSync(queue.path)) {
    fail(`no queue file at ${queue.path} (queue.path of ${file}); the relay creates it when it starts`);
    return 1;
  }
  // Loaded here, not at the top: the other commands of the CLI need no SQLite.
  const [{ createDriver }, { QueueOpenError }] = await Promise.all([
    import('../queue/index.ts'),
    import('../queue/queue-file.ts'),
  ]);
  try {
    return { driver: createDriver(queue, createLogger('error', process.stderr)), secrets };
  } catch (error) {
    if (!(error instanceof QueueOpenError)) throw error;
    fail(error.message);
    return 1;
  }
}

const COMMANDS: Record<string, Command> = {
  async list(driver, values, _ids, print) {
    const limit = values.limit === undefined ? 100 : Number(values.limit);
    const records = await driver.list({ ...filterOf(values, Date.now()), limit });
    if (values.json) {
      const deliveries = await Promise.all(records.map(summary));
      const next = records.length === limit ? records[records.length - 1]!.id : null;
      print(`${JSON.stringify({ deliveries, next })}\n`);
      return 0;
    }
    if (records.length === 0) {
      print('no deliveries\n');
      return 0;
    }
    print(table(records, Date.now()));
    if (records.length === limit) print(`(first ${limit}; --limit N shows more)\n`);
    return 0;
  },

  async show(driver, values, [id], print) {
    const found = await driver.get(id!);
    if (!found) {
      fail(`no delivery '${id}'`);
      return 1;
    }
    const view = await detail(found.record);
    const attempts = found.attempts.map(attemptView);
    if (values.json) print(`${JSON.stringify({ delivery: view, attempts })}\n`);
    else print(describe(view, attempts, found.record, Date.now()));
    return 0;
  },

  async replay(driver, values, ids, print) {
    const hint = (n: number) =>
      `a running relay delivers ${n === 1 ? 'it' : 'them'} within its poll interval`;
    if (ids.length === 0) {
      const status = values.status as 'dead' | 'delivered';
      const run = { dryRun: values['dry-run'], yes: values.yes, json: values.json };
      return replayByFilter(driver, { ...filterOf(values, Date.now()), status }, run, print);
    }
    const unique = [...new Set(ids)];
    const found = await Promise.all(unique.map((id) => driver.get(id)));
    const notFound = unique.filter((_id, i) => !found[i]);
    for (const id of notFound) fail(`no delivery '${id}'`);
    // Pending and in-flight ones are already on their way: replaying them would change nothing.
    for (const [i, f] of found.entries()) {
      if (f && (f.record.status === 'pending' || f.record.status === 'inflight')) {
        fail(`delivery ${unique[i]} is ${f.record.status} already: not replayed`);
      }
    }
    const replayable = unique.filter((_id, i) => found[i] !== undefined);
    const n = replayable.length ? await driver.replay({ ids: replayable }, Date.now()) : 0;
    if (values.json) print(`${JSON.stringify({ replayed: n, notFound })}\n`);
    else
      print(
        `replayed ${n} of ${unique.length} deliver${unique.length === 1 ? 'y' : 'ies'}${n ? `; ${hint(n)}` : ''}\n`,
      );
    return notFound.length ? 1 : 0;
  },

  async purge(driver, values, _ids, print) {
    const status = values.status as 'delivered' | 'dead';
    const age = values['older-than']!;
    const n = await driver.purge({ status, routeId: values.route, olderThan: Date.now() - parseAge(age) });
    if (values.json) print(`${JSON.stringify({ purged: n })}\n`);
    else {
      const scope = values.route ? ` of route ${values.route}` : '';
      print(`purged ${n} ${status} deliver${n === 1 ? 'y' : 'ies'}${scope} older than ${age}\n`);
    }
    return 0;
  },
};
