/**
 * What the dashboard tests and scripts/dashboard-screenshot.ts share: the Grafana dashboards in
 * deploy/grafana/ read as data, their template variables filled in the way Grafana fills them
 * (an unknown one is an error), and a live setup to query them against: an in-process relay with
 * a route of each kind the dashboard shows (sync to a healthy target, async on a SQLite queue, async
 * to a target that answers 503 so retries, the circuit breaker and dead letters move, sync to the
 * same failing target for 5xx answers, and an HMAC-verified route that refuses bad signatures),
 * bounded traffic, and a real `prometheus` (Debian's package) scraping the relay every second
 * from a temp TSDB on a free 127.0.0.1 port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Relay, refusedPort, startRelay, startTarget, type Target } from '../helpers.ts';
import type { ToolSpec } from '../support/system-tools.ts';

const ROOT = resolve(import.meta.dirname, '../..');
export const GRAFANA_DIR = 'deploy/grafana';

export const PROMETHEUS: ToolSpec = {
  name: 'prometheus',
  env: 'PROMETHEUS',
  install: 'install it with `apt-get install -y prometheus` (Debian), or run `.ci/run`, which does',
};

// ── The dashboards as data ───────────────────────────────────────────────────────────────────

export interface DatasourceRef {
  type?: string;
  uid?: string;
}
export interface PanelTarget {
  refId?: string;
  expr: string;
  legendFormat?: string;
  instant?: boolean;
  format?: string;
  datasource?: DatasourceRef;
}
export interface Panel {
  id?: number;
  type: string;
  title: string;
  description?: string;
  datasource?: DatasourceRef;
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: PanelTarget[];
  panels?: Panel[];
  fieldConfig?: {
    defaults?: {
      unit?: string;
      min?: number;
      max?: number;
      mappings?: { type: string; options: Record<string, { text?: string; color?: string }> }[];
      thresholds?: { steps: { color: string; value: number | null }[] };
      custom?: { drawStyle?: string };
    };
    overrides?: { matcher: { id: string; options: string }; properties: { id: string; value: unknown }[] }[];
  };
  options?: Record<string, unknown>;
  transformations?: { id: string; options: Record<string, Record<string, unknown>> }[];
}
export interface Variable {
  name: string;
  type: string;
  query: string | { query: string };
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string;
  datasource?: DatasourceRef;
}
export interface Dashboard {
  title: string;
  uid: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
}

export function loadDashboards(): { file: string; dashboard: Dashboard }[] {
  return readdirSync(join(ROOT, GRAFANA_DIR))
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => {
      const file = `${GRAFANA_DIR}/${name}`;
      return { file, dashboard: JSON.parse(readFileSync(join(ROOT, file), 'utf8')) as Dashboard };
    });
}

/** Every panel, those collapsed inside a row included. */
export function allPanels(dashboard: Dashboard): Panel[] {
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

// ── Template variables ───────────────────────────────────────────────────────────────────────

/** What Grafana would put in for its built-in variables and the dashboard's own ones. */
export interface VariableValues {
  /** `$__interval`: the query step. */
  interval: string;
  /** `$__rate_interval`: Grafana's max($__interval + scrape interval, 4 × scrape interval). */
  rateInterval: string;
  /** `$__range`: the dashboard's time range. */
  range: string;
  /** Values of the dashboard's own variables by name; a missing one is its All value. */
  selected?: Record<string, string[]>;
  /** `$instance`, when a dashboard has one. */
  instance?: string;
}

const seconds = (duration: string): number => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(duration);
  if (!m) throw new Error(`not a duration: ${duration}`);
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
};

/** Grafana's regex escaping of one value of a multi-value variable. */
const regexEscape = (value: string) => value.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&');

/**
 * The expression with every `$name`, `${name}`, `${name:format}` and `[[name]]` replaced as Grafana
 * would: built-ins from `values`, the dashboard's variables from `values.selected` (several values
 * become `(a|b)`, none the variable's `allValue`). Throws on a variable it does not know, so a typo in
 * the dashboard fails the test instead of reaching Prometheus as text.
 */
export function fillVariables(expr: string, dashboard: Dashboard, values: VariableValues): string {
  const own = new Map(dashboard.templating.list.map((v) => [v.name, v]));
  const builtIn: Record<string, string> = {
    __interval: values.interval,
    __interval_ms: String(Math.round(seconds(values.interval) * 1000)),
    __rate_interval: values.rateInterval,
    __range: values.range,
    __range_s: String(Math.round(seconds(values.range))),
    __range_ms: String(Math.round(seconds(values.range) * 1000)),
  };
  if (values.instance !== undefined) builtIn.instance = values.instance;
  const value = (name: string, format: string | undefined): string => {
    if (format !== undefined && !['regex', 'pipe', 'raw'].includes(format))
      throw new Error(`unknown variable format \${${name}:${format}} in: ${expr}`);
    if (name in builtIn) return builtIn[name]!;
    const variable = own.get(name);
    if (!variable) throw new Error(`unknown variable $${name} in: ${expr}`);
    if (variable.type === 'datasource') return 'prometheus';
    const chosen = values.selected?.[name];
    if (!chosen || chosen.length === 0) {
      if (!variable.includeAll) throw new Error(`no value chosen for $${name}, which has no All`);
      return variable.allValue ?? '.*';
    }
    if (format === 'raw') return chosen.join(',');
    return chosen.length === 1 ? regexEscape(chosen[0]!) : `(${chosen.map(regexEscape).join('|')})`;
  };
  return expr.replace(
    /\$\{(\w+)(?::(\w+))?\}|\[\[(\w+)\]\]|\$(\w+)/g,
    (_, braced?: string, format?: string, bracketed?: string, bare?: string) =>
      value((braced ?? bracketed ?? bare)!, format),
  );
}

// ── The live setup: relay, traffic, prometheus ───────────────────────────────────────────────

export const HMAC_SECRET = 'dashboard-fixture-secret';
/** The routes the fixture's relay serves, by what the dashboard should show of them. */
export const ROUTES = {
  syncOk: 'orders',
  asyncOk: 'invoices',
  asyncFailing: 'payments',
  syncFailing: 'legacy',
  verified: 'signed',
} as const;

export interface PrometheusResult {
  status: 'success' | 'error';
  error?: string;
  errorType?: string;
  data?: {
    resultType: 'vector' | 'matrix' | 'scalar' | 'string';
    result: { metric: Record<string, string>; value?: [number, string]; values?: [number, string][] }[];
  };
}

export interface Prometheus {
  url: string;
  process: ChildProcess;
  stderr: () => string;
  query(expr: string, time?: number): Promise<PrometheusResult>;
  queryRange(expr: string, start: number, end: number, step: number): Promise<PrometheusResult>;
  /** Resolves once `n` more scrapes of the relay are stored than when it was called. */
  waitForScrapes(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface Fixture {
  relay: Relay;
  prometheus: Prometheus;
  /** The relay's metrics listener as Prometheus labels it (`instance`). */
  instance: string;
  /** When Prometheus started (Unix seconds). */
  startedAt: number;
  /** Sends one round of traffic: 14 requests across the routes. */
  round(): Promise<{ status: number; route: string }[]>;
  /** Resolves once no queued delivery of the relay is pending or in flight. */
  settled(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

function relayConfig(dir: string, ok: Target, failing: Target): string {
  return `
server: { host: 127.0.0.1, port: 0 }
queue: { driver: sqlite, path: "${join(dir, 'queue.db')}" }
routes:
  - id: ${ROUTES.syncOk}
    path: /in/orders
    forward: { url: "${ok.url}/orders" }
  - id: ${ROUTES.asyncOk}
    path: /in/invoices
    delivery: async
    forward: { url: "${ok.url}/invoices" }
    queue: { minDelay: 50ms }
  - id: ${ROUTES.asyncFailing}
    path: /in/payments
    delivery: async
    forward: { url: "${failing.url}/payments" }
    queue: { maxAttempts: 3, minDelay: 50ms, maxDelay: 200ms, circuitBreaker: { failures: 4, cooldown: 500ms } }
  - id: ${ROUTES.syncFailing}
    path: /in/legacy
    forward: { url: "${failing.url}/legacy" }
    retry: { attempts: 2, minDelay: 10ms, maxDelay: 20ms }
  - id: ${ROUTES.verified}
    path: /in/signed
    verify:
      - type: hmac
        header: X-Signature
        prefix: "sha256="
        secrets: ["${HMAC_SECRET}"]
    forward: { url: "${ok.url}/signed" }
`;
}

async function startPrometheus(binary: string, metricsTarget: string, dir: string): Promise<Prometheus> {
  const port = await refusedPort();
  const url = `http://127.0.0.1:${port}`;
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      '  - job_name: hookrelay',
      '    metrics_path: /metrics',
      `    static_configs: [{ targets: ["${metricsTarget}"] }]`,
      '',
    ].join('\n'),
  );
  const child = spawn(
    binary,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const get = async (path: string, params: Record<string, string | number>): Promise<PrometheusResult> => {
    const query = new URLSearchParams(
      Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]),
    );
    const res = await fetch(`${url}${path}?${query}`);
    return (await res.json()) as PrometheusResult;
  };
  const prometheus: Prometheus = {
    url,
    process: child,
    stderr: () => stderr,
    query: (expr, time) => get('/api/v1/query', time === undefined ? { query: expr } : { query: expr, time }),
    queryRange: (expr, start, end, step) => get('/api/v1/query_range', { query: expr, start, end, step }),
    async waitForScrapes(n, timeoutMs = 15_000) {
      const scrapes = async () => {
        const r = await prometheus.query('count_over_time(up{job="hookrelay"}[1h])');
        return Number(r.data?.result[0]?.value?.[1] ?? 0);
      };
      const wanted = (await scrapes()) + n;
      const deadline = Date.now() + timeoutMs;
      while ((await scrapes()) < wanted) {
        if (Date.now() > deadline) throw new Error(`fewer than ${n} scrapes in ${timeoutMs} ms; ${stderr}`);
        await sleep(200);
      }
    },
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killed = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(killed);
      }
    },
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${stderr}`);
    const ready = await fetch(`${url}/-/ready`).then(
      (res) => res.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await prometheus.close();
      throw new Error(`prometheus not ready within 15 s: ${stderr}`);
    }
    await sleep(100);
  }
  return prometheus;
}

/**
 * Starts the relay, its targets and Prometheus (`binary`), and waits for the first scrape. Call
 * `close()` in a finally or afterAll: it stops them all and removes the temp dir.
 */
export async function startFixture(binary: string): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'hookrelay-dashboard-'));
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const closer of closers.splice(0).reverse()) await closer().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // A few milliseconds of work, varied, so the latency quantiles differ.
    const ok = await startTarget(async (_req, res, i) => {
      await sleep(2 + ((i * 7) % 23));
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
    closers.push(() => ok.close());
    const failing = await startTarget((_req, res) => {
      res.statusCode = 503;
      res.end('maintenance');
    });
    closers.push(() => failing.close());
    const relay = await startRelay(relayConfig(dir, ok, failing));
    closers.push(() => relay.close());
    const instance = new URL(relay.url).host;
    const startedAt = Date.now() / 1000;
    const prometheus = await startPrometheus(binary, instance, dir);
    closers.push(() => prometheus.close());
    await prometheus.waitForScrapes(1);

    const send = async (route: string, path: string, body: string, headers: Record<string, string> = {}) => {
      const res = await fetch(`${relay.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
      await res.arrayBuffer();
      return { status: res.status, route };
    };
    let n = 0;
    const round = async () => {
      const body = () => JSON.stringify({ id: ++n, amount: 10 + (n % 17) });
      const signed = (valid: boolean) => {
        const payload = body();
        const mac = createHmac('sha256', valid ? HMAC_SECRET : 'wrong-secret')
          .update(payload)
          .digest('hex');
        return send(ROUTES.verified, '/in/signed', payload, { 'x-signature': `sha256=${mac}` });
      };
      return Promise.all([
        ...Array.from({ length: 4 }, () => send(ROUTES.syncOk, '/in/orders', body())),
        ...Array.from({ length: 3 }, () => send(ROUTES.asyncOk, '/in/invoices', body())),
        ...Array.from({ length: 2 }, () => send(ROUTES.asyncFailing, '/in/payments', body())),
        send(ROUTES.syncFailing, '/in/legacy', body()),
        signed(true),
        signed(true),
        signed(false),
        send(ROUTES.verified, '/in/signed', body()),
      ]);
    };
    const settled = async (timeoutMs = 20_000) => {
      const driver = relay.app.queue!.driver;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const stats = await driver.stats();
        const open = Object.values(stats.byRoute).reduce(
          (sum, states) => sum + (states.pending?.count ?? 0) + (states.inflight?.count ?? 0),
          0,
        );
        if (open === 0) return;
        if (Date.now() > deadline)
          throw new Error(`${open} queued deliveries still open after ${timeoutMs} ms`);
        await sleep(100);
      }
    };
    return { relay, prometheus, instance, startedAt, round, settled, close };
  } catch (error) {
    await close();
    throw error;
  }
}
