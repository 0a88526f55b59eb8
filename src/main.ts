/**
 * The `hookrelay` command: parses the arguments, runs a subcommand (`start`, `validate`, `try`,
 * `test`, `deliveries`), and for `start` runs the relay until a signal asks it to stop.
 */
import { parseArgs } from 'node:util';
import { type App, createApp } from './app.ts';
import { runDeliveries } from './cli/deliveries.ts';
import { runTests } from './cli/test-routes.ts';
import { runTry } from './cli/try.ts';
import { loadConfigWithWarnings } from './config/load.ts';
import type { Config } from './config/schema.ts';
import { ConfigError, type ConfigIssue, formatConfigIssue } from './core/errors.ts';
import { VERSION } from './core/version.ts';
import { QueuePreflightError } from './queue/preflight.ts';
import { QueueOpenError } from './queue/queue-file.ts';
import { createLogger } from './telemetry/log.ts';

const HELP = `hookrelay ${VERSION} — relay a legacy system's webhooks with the credentials and shape the target needs

Usage:
  hookrelay start    [-c FILE]   run the relay (SIGHUP reloads the config: docs/reload.md)
  hookrelay validate [-c FILE]   check a config file; exit 0 when valid, 1 with every error otherwise
  hookrelay try      [-c FILE] --route ID [--file BODY] [--content-type T] [--method M]
                     [--query 'a=1&b=2'] [--header 'K: V'] [--param name=value] [--json]
                                 run a route's transforms on a body and print the request that
                                 would be forwarded, credentials redacted; nothing is sent
  hookrelay test     [-c FILE] [--route ID]
                                 run the routes' \`tests:\` cases; exit 1 on any failure
  hookrelay deliveries list|show|replay|purge [-c FILE] [options]
                                 inspect queued deliveries of async routes, replay dead
                                 letters, purge old ones (in the queue of the config)
  hookrelay deliveries migrate --to redis [-c FILE] [--from SQLITE_FILE] [--dry-run]
                                 move a SQLite file's deliveries into the config's Redis
  hookrelay try --help | test --help | deliveries --help
                                 every option of try, test or deliveries
  hookrelay --help | --version

Options:
  -c, --config FILE   config file (default: $HOOKRELAY_CONFIG, else config/hookrelay.yaml)

Docs: docs/configuration.md, docs/transforms.md, docs/queue.md, docs/metrics.md, docs/errors.md`;

/** Commands with options of their own: they parse their arguments themselves. */
const SUBCOMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  try: runTry,
  test: runTests,
  deliveries: runDeliveries,
};

export async function main(argv: string[]): Promise<number> {
  const sub = subcommand(argv);
  if (sub) return sub.run(sub.args);
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    process.stderr.write(`hookrelay: ${(error as Error).message}\n\n${HELP}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const command = positionals[0];
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(`${HELP}\n`);
    return command === undefined && !values.help ? 2 : 0;
  }
  // Before loading the config: a mistyped command must not be reported as a config problem.
  if (command !== 'validate' && command !== 'start') {
    process.stderr.write(`hookrelay: unknown command '${command}'\n\n${HELP}\n`);
    return 2;
  }
  const file = values.config ?? process.env.HOOKRELAY_CONFIG ?? 'config/hookrelay.yaml';
  let config: Config;
  let warnings: ConfigIssue[];
  try {
    ({ config, warnings } = loadConfigWithWarnings(file));
  } catch (error) {
    if (error instanceof ConfigError) {
      const n = error.issues.length;
      process.stderr.write(
        `hookrelay: invalid configuration (${n} error${n === 1 ? '' : 's'})\n${error.message}\n`,
      );
      return 1;
    }
    throw error;
  }
  if (command === 'validate') {
    if (warnings.length > 0) {
      const n = warnings.length;
      // Valid all the same: the exit code stays 0, so CI can choose to grep stderr.
      process.stderr.write(
        `hookrelay: ${n} warning${n === 1 ? '' : 's'}\n${warnings.map(formatConfigIssue).join('\n')}\n`,
      );
    }
    process.stdout.write(
      `${file}: OK (${config.routes.length} route${config.routes.length === 1 ? '' : 's'})\n`,
    );
    return 0;
  }
  started = true;
  return start(config, file, warnings);
}

/** Set once the relay was started: after it stops, nothing left on the loop is worth waiting for. */
let started = false;

/**
 * The first positional argument (skipping `-c FILE`) when it names a subcommand, with the other
 * arguments for it to parse: `-c FILE try --route x` works as well as `try -c FILE --route x`.
 */
function subcommand(
  argv: string[],
): { run: (argv: string[]) => Promise<number>; args: string[] } | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return undefined;
    if (arg === '-c' || arg === '--config') {
      i++;
      continue;
    }
    if (arg.startsWith('-')) continue;
    const run = Object.hasOwn(SUBCOMMANDS, arg) ? SUBCOMMANDS[arg] : undefined;
    return run && { run, args: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return undefined;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
}

async function start(config: Config, file: string, warnings: ConfigIssue[]): Promise<number> {
  const logger = createLogger(config.log.level);
  for (const warning of warnings) {
    logger.warn({ config: file, warning: formatConfigIssue(warning) }, 'configuration warning');
  }
  let app: App;
  try {
    app = createApp(config, { logger, file });
  } catch (error) {
    // The queue's path is wrong for this machine: one line that says which and why, no stack.
    if (!(error instanceof QueueOpenError)) throw error;
    logger.fatal({ path: error.path, reason: error.reason }, error.message);
    return 1;
  }
  let exit!: (code: number) => void;
  const exited = new Promise<number>((resolve) => {
    exit = resolve;
  });
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      exit(1);
      return;
    }
    stopping = true;
    logger.info({ signal, grace: config.server.shutdownGrace }, 'shutting down');
    app.stop().then(
      ({ drained }) => {
        logger.info({ drained }, 'stopped');
        exit(drained ? 0 : 1);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'error during shutdown');
        exit(1);
      },
    );
  };
  // Installed before listening: a supervisor may signal as soon as it sees the "listening" line,
  // and without a handler SIGTERM kills the process outright, dropping in-flight requests.
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // SIGHUP reloads the configuration (docs/reload.md); without a handler it would end the process.
  process.on('SIGHUP', () => {
    if (!stopping) void app.reload('signal');
  });
  try {
    const address = await app.listen();
    logger.info(
      {
        config: file,
        host: address.address,
        port: address.port,
        routes: config.routes.map((r) => r.id),
        version: VERSION,
      },
      'hookrelay listening',
    );
  } catch (error) {
    if (error instanceof QueuePreflightError) {
      // The store is unusable or unsafe as configured: said on stderr too, like a config error.
      logger.fatal({ err: error }, 'queue refused at start');
      process.stderr.write(`hookrelay: ${error.message}\n`);
      return 1;
    }
    logger.fatal({ err: error }, 'cannot listen');
    return 1;
  }
  return exited;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Anything still holding the loop open after a stop is not ours to wait for; pino writes
    // stdout synchronously, so no log line is lost.
    if (code !== 0 || started) process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`hookrelay: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
