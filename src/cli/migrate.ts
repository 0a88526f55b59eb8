/**
 * `hookrelay deliveries migrate --to redis`: moves the deliveries of a SQLite queue file into the
 * Redis the config names (`queue.driver: redis`), for a user who switches a relay from one file
 * to Redis. Pending, in-flight (restored pending) and dead deliveries move with their attempt
 * history; delivered ones only with --include-delivered. Each one goes through the redis driver's
 * `restore`, which writes it durably and says 'exists' for an id already there, so a rerun moves
 * only what is left. The SQLite file is only read. Leases still running mean a relay is still
 * working on the file: refused unless --force. See docs/scale-out.md, "Moving from SQLite".
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { ConfigError } from '../core/errors.ts';
import { SecretValues } from '../core/secret-values.ts';
import { grid } from '../present/text.ts';
import type { DurabilityFinding } from '../queue/redis-durability.ts';
import type { RedisSettings } from '../queue/redis-settings.ts';
import type { QueueDriver } from '../queue/types.ts';
import { configFile } from './load.ts';
import { type QueueSection, queueConfig } from './queue-config.ts';

export const MIGRATE_HELP = `Usage: hookrelay deliveries migrate --to redis [-c FILE] [--from SQLITE_FILE]
                                    [--dry-run] [--include-delivered] [--force] [--json]

Moves the deliveries of a SQLite queue file into Redis, for relays switching from
\`queue.driver: sqlite\` to \`queue.driver: redis\`. Stop the relays and switch the config first:
its queue.redis settings are where the deliveries go.

Pending and dead deliveries move with their attempt history, in-flight ones as pending; delivered
ones only with --include-delivered. Dedup windows are not carried over. A delivery already in
Redis is left as it is, so running it again moves only what is left. The SQLite file is not
changed: delete it once the relays run on Redis.

Options:
  -c, --config FILE       config with queue.driver: redis (default: $HOOKRELAY_CONFIG, else config/hookrelay.yaml)
      --to redis          where to (redis is the only destination)
      --from FILE         the SQLite file (default: the config's queue.path, ./data/hookrelay.db unless set)
      --dry-run           read both stores and report what would move; write nothing
      --include-delivered move delivered deliveries too
      --force             move even while leases are running (a running relay may then deliver
                          those deliveries twice)
      --json              print JSON

Exit status: 0 on success, 1 when the deliveries could not be read or moved, 2 on a usage error.
See docs/scale-out.md, "Moving from SQLite".`;

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      to: { type: 'string' },
      from: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      'include-delivered': { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

type Values = ReturnType<typeof parse>['values'];

interface RouteCounts {
  route: string;
  pending: number;
  dead: number;
  delivered: number;
  alreadyThere: number;
}

type Redactor = Pick<SecretValues, 'redact'>;

/** Records read from the file per page; those of a page are restored this many at a time. */
const PAGE = 200;
const PARALLEL = 16;

export async function runMigrate(argv: string[]): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parse(argv));
  } catch (error) {
    return usage((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${MIGRATE_HELP}\n`);
    return 0;
  }
  if (positionals.length > 0) return usage(`'migrate' takes no arguments, got '${positionals[0]}'`);
  if (values.to === undefined) return usage('--to redis is required');
  if (values.to !== 'redis') return usage(`--to ${values.to}: the only destination is redis`);
  const file = configFile(values.config);
  let queue: QueueSection;
  let configSecrets: SecretValues;
  try {
    ({ queue, secrets: configSecrets } = queueConfig(file));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const n = error.issues.length;
    // Config errors never quote a secret's value.
    fail(`invalid configuration (${n} error${n === 1 ? '' : 's'})\n${error.message}`, SecretValues.none);
    return 1;
  }
  const redis = queue.redis;
  if (queue.driver !== 'redis' || redis === undefined)
    return usage(
      `${file} has queue.driver: ${queue.driver}; the config names where the deliveries go: switch it to queue.driver: redis (with queue.redis) first, and give the SQLite file with --from if queue.path is not it`,
    );
  const secrets = redactor(configSecrets, redis);
  const from = values.from ?? queue.path;
  if (!existsSync(from)) {
    fail(`no SQLite file at ${from} (${values.from ? '--from' : `queue.path of ${file}`})`, secrets);
    return 1;
  }
  const [{ SqliteDriver }, { RedisDriver }, { QueueOpenError }, { redisDurability }] = await Promise.all([
    import('../queue/sqlite.ts'),
    import('../queue/redis.ts'),
    import('../queue/queue-file.ts'),
    import('../queue/redis-durability.ts'),
  ]);
  let source: QueueDriver;
  try {
    source = new SqliteDriver(from, { keepAttempts: queue.keepAttempts });
  } catch (error) {
    if (!(error instanceof QueueOpenError)) throw error;
    fail(error.message, secrets);
    return 1;
  }
  const destination = new RedisDriver(redis, { keepAttempts: queue.keepAttempts });
  const to = { url: shownUrl(redis.url), prefix: redis.prefix };
  const print = (text: string) => process.stdout.write(secrets.redact(text));
  const counts = new Map<string, RouteCounts>();
  let moved = 0;
  try {
    const findings = await durability(destination.client, redis, redisDurability);
    for (const f of findings) warn(`redis durability: ${f.risk}`, secrets);
    if (findings.length > 0 && redis.durability === 'refuse') {
      fail(
        `queue.redis.durability is 'refuse' and Redis could lose acknowledged webhooks: ${findings.map((f) => `${f.setting}=${f.value}`).join(', ')}; the relays would not start on it either (see docs/scale-out.md)`,
        secrets,
      );
      return 1;
    }
    const leased = await liveLeases(source, Date.now());
    if (leased > 0 && !values.force) {
      fail(
        `${leased} deliver${leased === 1 ? 'y is' : 'ies are'} in flight in ${from} with a lease still running: a relay is still working on this file. Stop the relays first, then run this again (--force moves them anyway, and a relay still running may then deliver them twice)`,
        secrets,
      );
      return 1;
    }
    let leftOut = 0;
    for (let after: string | undefined; ; ) {
      const page = await source.list({ after, limit: PAGE });
      if (page.length === 0) break;
      after = page[page.length - 1]!.id;
      const moving = page.filter((r) => r.status !== 'delivered' || values['include-delivered']);
      leftOut += page.length - moving.length;
      for (let i = 0; i < moving.length; i += PARALLEL) {
        await Promise.all(
          moving.slice(i, i + PARALLEL).map(async (record) => {
            const found = await source.get(record.id);
            if (!found) return; // gone meanwhile (a relay still running with --force purged it)
            const result = values['dry-run']
              ? (await destination.get(record.id))
                ? 'exists'
                : 'restored'
              : await destination.restore(found.record, found.attempts);
            const c = countsOf(counts, record.routeId);
            if (result === 'exists') c.alreadyThere += 1;
            else {
              c[record.status === 'inflight' ? 'pending' : record.status] += 1;
              if (!values['dry-run']) moved += 1;
            }
          }),
        );
      }
    }
    const routes = [...counts.values()].sort((a, b) => (a.route < b.route ? -1 : 1));
    const total = routes.reduce(
      (t, r) => ({
        route: 'total',
        pending: t.pending + r.pending,
        dead: t.dead + r.dead,
        delivered: t.delivered + r.delivered,
        alreadyThere: t.alreadyThere + r.alreadyThere,
      }),
      { route: 'total', pending: 0, dead: 0, delivered: 0, alreadyThere: 0 },
    );
    const dryRun = values['dry-run'];
    if (values.json) {
      const { route: _total, ...sums } = total;
      const warnings = findings.map((f) => f.risk);
      print(
        `${JSON.stringify({ dryRun, from, to, routes, total: sums, leftOut: { delivered: leftOut }, warnings })}\n`,
      );
      return 0;
    }
    const n = total.pending + total.dead + total.delivered;
    print(
      `${dryRun ? 'Dry run, nothing written: ' : ''}from ${from} (SQLite) to ${to.url} (prefix ${to.prefix})\n`,
    );
    print(
      grid([
        ['ROUTE', 'PENDING', 'DEAD', 'DELIVERED', 'ALREADY THERE'],
        ...[...routes, total].map((r) =>
          [r.route, r.pending, r.dead, r.delivered, r.alreadyThere].map(String),
        ),
      ]),
    );
    print(`${dryRun ? 'would move' : 'moved'} ${plural(n, 'delivery', 'deliveries')}`);
    print(total.alreadyThere > 0 ? `; ${total.alreadyThere} already in Redis, left as they are\n` : '\n');
    if (leftOut > 0)
      print(
        `${plural(leftOut, 'delivered delivery', 'delivered deliveries')} left out (--include-delivered moves them)\n`,
      );
    print(
      dryRun
        ? 'run it again without --dry-run to move them\n'
        : `${from} was not changed: delete it once the relays run on Redis\n`,
    );
    return 0;
  } catch (error) {
    fail(
      `migration stopped: ${(error as Error).message}; ${plural(moved, 'delivery', 'deliveries')} moved so far, running it again moves the rest`,
      secrets,
    );
    return 1;
  } finally {
    await Promise.all([source.close(), destination.close()]);
  }
}

function usage(message: string): number {
  process.stderr.write(`hookrelay deliveries migrate: ${message}\n\n${MIGRATE_HELP}\n`);
  return 2;
}

function fail(message: string, secrets: Redactor): void {
  process.stderr.write(secrets.redact(`hookrelay deliveries migrate: ${message}\n`));
}

function warn(message: string, secrets: Redactor): void {
  process.stderr.write(secrets.redact(`hookrelay deliveries migrate: warning: ${message}\n`));
}

/** The config's secret values and the Redis credentials, whichever way they were given. */
function redactor(config: SecretValues, redis: RedisSettings): Redactor {
  const url = URL.canParse(redis.url) ? new URL(redis.url) : undefined;
  const own = new SecretValues(
    [
      redis.password,
      redis.sentinelPassword,
      url?.password ? decodeURIComponent(url.password) : undefined,
      url?.password,
    ].filter((v): v is string => v !== undefined && v !== ''),
  );
  return { redact: (text) => own.redact(config.redact(text)) };
}

/** The url without user and password. */
export function shownUrl(url: string): string {
  if (!URL.canParse(url)) return '<unparsable url>';
  const shown = new URL(url);
  shown.username = '';
  shown.password = '';
  return shown.toString().replace(/\/$/, '');
}

/** The durability check of the relay's start (queue/preflight.ts), once Redis answers. */
async function durability(
  client: Redis,
  settings: RedisSettings,
  check: (client: Redis) => Promise<DurabilityFinding[]>,
): Promise<DurabilityFinding[]> {
  let lastError = '';
  const onError = (error: Error) => {
    lastError = error.message;
  };
  client.on('error', onError);
  try {
    if (client.status !== 'ready') {
      const ms = settings.connectTimeout + settings.commandTimeout;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `Redis at ${shownUrl(settings.url)} did not answer within ${ms} ms${lastError ? ` (${lastError})` : ''}`,
              ),
            ),
          ms,
        );
        client.once('ready', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return await check(client);
  } finally {
    client.off('error', onError);
  }
}

/** In-flight deliveries of the file whose lease has not expired: a relay holds them. */
async function liveLeases(source: QueueDriver, now: number): Promise<number> {
  let live = 0;
  for (let after: string | undefined; ; ) {
    const page = await source.list({ status: 'inflight', after, limit: 1000 });
    if (page.length === 0) return live;
    live += page.filter((r) => (r.leaseUntil ?? 0) > now).length;
    after = page[page.length - 1]!.id;
  }
}

function countsOf(counts: Map<string, RouteCounts>, route: string): RouteCounts {
  let c = counts.get(route);
  if (!c) {
    c = { route, pending: 0, dead: 0, delivered: 0, alreadyThere: 0 };
    counts.set(route, c);
  }
  return c;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}
