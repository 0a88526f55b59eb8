/**
 * What the running relay tells its admin listener about itself: the loaded configuration (its
 * hash, when it was loaded, the last reload's result), the routes it serves now, and a way to
 * reload. The runtime implements it (src/runtime/); the admin API and the console only read it,
 * so neither knows how a configuration is compiled or swapped.
 */
import type { CircuitState } from '../queue/circuit.ts';

/** What started a reload. */
export type ReloadTrigger = 'signal' | 'watch' | 'api';

/** The result of one reload, as logged, counted, answered by `POST /reload` and shown in the console. */
export interface ReloadReport {
  /** `applied`: the new configuration serves new requests; `unchanged`: same content hash, nothing done; `refused`: invalid, the old one stays. */
  result: 'applied' | 'unchanged' | 'refused';
  trigger: ReloadTrigger;
  /** ms since epoch. */
  at: number;
  durationMs: number;
  /** The configuration serving now (the old one's when refused). */
  hash: string;
  /** Every error of a refused file, as `file:line:col: path: message`. */
  errors: string[];
  /** Settings that changed in the file but take effect only after a restart (`server.port`, `queue.driver`, …). */
  restartRequired: string[];
  /** Route ids added, removed and changed by an applied reload. */
  routes: { added: string[]; removed: string[]; changed: string[] };
}

/** The loaded configuration. */
export interface ConfigView {
  file: string;
  /** sha256 of the file's bytes (hex), as in the `hookrelay_config_info` metric. */
  hash: string;
  /** ms since epoch. */
  loadedAt: number;
  lastReload: ReloadReport | undefined;
}

/** One route as the console lists it. */
export interface RouteView {
  id: string;
  /** sync, async, hybrid, stream, echo. */
  delivery: string;
  methods: string[];
  path: string;
  /** Where it forwards: one entry, or one per fan-out target; URLs without query and with secret values redacted. */
  targets: { name: string; url: string; queueId: string | undefined }[];
  /** The circuit breaker of each queued target, by queue route id. */
  circuits: Record<string, CircuitState>;
}

/** The running relay, as the admin listener sees it. */
export interface AdminLive {
  config(): ConfigView;
  routes(): RouteView[];
  /** Load, validate and compile the file off to the side, then swap; never throws for an invalid file. */
  reload(trigger: ReloadTrigger): Promise<ReloadReport>;
}
