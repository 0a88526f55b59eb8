/**
 * Reloading the configuration (docs/reload.md): SIGHUP, the directory watch of
 * `server.watchConfig`, and `POST /reload` all come here. The file is read, validated and
 * compiled completely off to the side; any error leaves the running configuration untouched and
 * is logged, counted and returned with every `file:line:col: path: message`. A valid file is
 * handed to `apply`, which swaps one reference (app.ts). Reloads run one at a time.
 */
import { readFileSync } from 'node:fs';
import type { ReloadReport, ReloadTrigger } from '../admin/live.ts';
import { parseConfigWithWarnings } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { ConfigError, formatConfigIssue } from '../core/errors.ts';
import type { Logger } from '../telemetry/log.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { closeGeneration, configHash, type Generation } from './generation.ts';
import { restartRequired, routeChanges } from './settings.ts';
import { type ConfigWatch, watchConfigDirectory } from './watch.ts';

export interface ReloaderOptions {
  /** The configuration file; without one every reload is refused. */
  file: string | undefined;
  /**
   * What the settings built once (listeners, queue, admin listener) were built from, as `next`
   * would see them: the configuration the process started with, and for `queue` the one the queue
   * was opened with (`next`'s own while no queue is open: the first one to need it opens it).
   */
  builtFrom: (next: Config) => Config;
  running: () => Generation;
  compile: (config: Config, hash: string) => Generation;
  /** Makes the compiled generation the one serving; rejects, having swapped nothing, when it could not be started. */
  apply: (next: Generation) => Promise<void>;
  metrics: Metrics;
  logger: Logger;
}

/** Builds the report of the reload running: its result and what it found. */
type Report = (
  result: ReloadReport['result'],
  fields?: Partial<Pick<ReloadReport, 'errors' | 'restartRequired' | 'routes' | 'hash'>>,
) => ReloadReport;

export class Reloader {
  readonly #o: ReloaderOptions;
  #chain: Promise<unknown> = Promise.resolve();
  #watch: ConfigWatch | undefined;
  #closed = false;
  /** The last reload's result, for the admin API and console. */
  last: ReloadReport | undefined;

  constructor(options: ReloaderOptions) {
    this.#o = options;
  }

  /** Reloads now (after any reload already running); never rejects. */
  reload(trigger: ReloadTrigger): Promise<ReloadReport> {
    const next = this.#chain.then(() => this.#reload(trigger));
    this.#chain = next.catch(() => undefined);
    return next;
  }

  /** Starts the directory watch (`server.watchConfig`). */
  watch(): void {
    const { file, logger } = this.#o;
    if (!file || this.#watch || this.#closed) return;
    this.#watch = watchConfigDirectory(
      file,
      () => {
        // Only a change of content reloads: a touch, or another file of the directory, does nothing.
        let hash: string;
        try {
          hash = configHash(readFileSync(file));
        } catch {
          return; // mid-replacement; the rename's own event follows
        }
        if (hash === this.#o.running().hash) return;
        void this.reload('watch');
      },
      { onError: (error) => logger.warn({ err: error, config: file }, 'config watch failed') },
    );
    logger.info({ config: file }, 'watching the configuration for changes');
  }

  /** Stops the directory watch (a reload turned `server.watchConfig` off). */
  unwatch(): void {
    if (!this.#watch) return;
    this.#watch.close();
    this.#watch = undefined;
    this.#o.logger.info({ config: this.#o.file }, 'no longer watching the configuration');
  }

  /** Stops watching; later reloads are refused (the relay is stopping). */
  close(): void {
    this.#closed = true;
    this.#watch?.close();
    this.#watch = undefined;
  }

  /** Resolves when no reload is running. */
  async settled(): Promise<void> {
    await this.#chain;
  }

  async #reload(trigger: ReloadTrigger): Promise<ReloadReport> {
    const started = performance.now();
    const running = this.#o.running();
    const report: Report = (result, fields = {}) => ({
      result,
      trigger,
      at: Date.now(),
      durationMs: Math.round(performance.now() - started),
      hash: fields.hash ?? running.hash,
      errors: fields.errors ?? [],
      restartRequired: fields.restartRequired ?? [],
      routes: fields.routes ?? { added: [], removed: [], changed: [] },
    });
    const { file } = this.#o;
    let result: ReloadReport;
    if (this.#closed) result = report('refused', { errors: ['the relay is shutting down'] });
    else if (!file)
      result = report('refused', { errors: ['no configuration file: the relay was built from an object'] });
    else result = await this.#fromFile(file, running, report);
    this.#finish(result);
    return result;
  }

  async #fromFile(file: string, running: Generation, report: Report): Promise<ReloadReport> {
    let source: Buffer;
    try {
      source = readFileSync(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      return report('refused', { errors: [`${file}: cannot read config file: ${code}`] });
    }
    const hash = configHash(source);
    let next: Generation;
    let config: Config;
    try {
      const loaded = parseConfigWithWarnings(source.toString('utf8'), file);
      config = loaded.config;
      for (const warning of loaded.warnings) {
        this.#o.logger.warn({ config: file, warning: formatConfigIssue(warning) }, 'configuration warning');
      }
      next = this.#o.compile(config, hash);
    } catch (error) {
      if (error instanceof ConfigError)
        return report('refused', { errors: error.issues.map(formatConfigIssue) });
      return report('refused', { errors: [`${file}: ${(error as Error).message}`] });
    }
    const restart = restartRequired(this.#o.builtFrom(config), config);
    // Same bytes and, after interpolation, the same values (a secret file may have changed under the same text).
    if (hash === running.hash && sameConfig(running.config, config)) {
      await closeGeneration(next);
      return report('unchanged', { restartRequired: restart });
    }
    const routes = routeChanges(running.config, config);
    try {
      await this.#o.apply(next);
    } catch (error) {
      await closeGeneration(next);
      return report('refused', {
        errors: [`${file}: could not start the new configuration: ${(error as Error).message}`],
      });
    }
    return report('applied', { hash, restartRequired: restart, routes });
  }

  #finish(result: ReloadReport): void {
    const { logger, metrics, file } = this.#o;
    this.last = result;
    metrics.configReloads.inc({ result: result.result });
    const fields = {
      config: file,
      trigger: result.trigger,
      result: result.result,
      hash: result.hash.slice(0, 12),
      durationMs: result.durationMs,
      routes: result.routes,
    };
    if (result.result === 'refused') {
      logger.error(
        { ...fields, errors: result.errors },
        'configuration reload refused; the running configuration stays',
      );
    } else
      logger.info(fields, result.result === 'applied' ? 'configuration reloaded' : 'configuration unchanged');
    if (result.restartRequired.length > 0) {
      logger.warn(
        { config: file, settings: result.restartRequired },
        'configuration reload: these settings take effect only after a restart',
      );
    }
  }
}

/** Same values after interpolation: both come from the same schema, so their keys come in the same order. */
function sameConfig(a: Config, b: Config): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
