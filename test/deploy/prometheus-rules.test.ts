import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { load } from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { headingAnchors } from '../../scripts/docs/markdown.ts';
import { requireTool } from '../support/system-tools.ts';
import { foreignMetrics, unknownLabels, unknownMetrics } from './promql-names.ts';

/**
 * The Prometheus alert rules and the Grafana dashboard in deploy/. promtool (Debian `prometheus`,
 * installed by `.ci/run`) checks the rules and runs their unit tests in real child processes;
 * without it those are skipped, saying so, except under CI, where they fail. The rest needs no
 * tool: every metric the rules and the dashboard query exists in src/telemetry/metrics.ts, every
 * alert is complete and tested both ways, and its runbook section exists in docs/alerts.md.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const RULES = 'deploy/prometheus/hookrelay-alerts.yml';
const RULE_TESTS = 'deploy/prometheus/hookrelay-alerts.test.yml';
const DASHBOARD = 'deploy/grafana/hookrelay-dashboard.json';
const RUNBOOK = 'https://github.com/hookrelay/hookrelay/blob/main/docs/alerts.md#';
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: AlertRule[] }[];
}
interface RuleTests {
  rule_files: string[];
  tests: { name: string; alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}
interface Panel {
  id?: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: { expr: string; datasource?: { type?: string; uid?: string } }[];
  panels?: Panel[];
}
interface Dashboard {
  title: string;
  uid: string;
  schemaVersion: number;
  panels: Panel[];
  templating: {
    list: {
      name: string;
      type: string;
      query: string | { query: string };
      multi?: boolean;
      includeAll?: boolean;
    }[];
  };
}

const rules = load(read(RULES)) as RuleFile;
const alerts = rules.groups.flatMap((g) => g.rules);
const ruleTests = load(read(RULE_TESTS)) as RuleTests;
const dashboard = JSON.parse(read(DASHBOARD)) as Dashboard;
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);

const dashboardExprs = [
  ...panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: p.title, expr: t.expr }))),
  ...dashboard.templating.list
    .filter((v) => v.type === 'query')
    .map((v) => ({ where: `$${v.name}`, expr: typeof v.query === 'string' ? v.query : v.query.query })),
];

describe('the metric name and label checks', () => {
  it('accept what hookrelay exports, histogram series included', () => {
    expect(unknownMetrics('rate(hookrelay_request_duration_seconds_bucket[5m])')).toEqual([]);
    expect(unknownMetrics('hookrelay_queue_depth{state="pending"}')).toEqual([]);
    expect(unknownLabels('hookrelay_request_duration_seconds_bucket{route="a", le="+Inf", job="x"}')).toEqual(
      [],
    );
  });

  it('reject a name or a label hookrelay does not export', () => {
    expect(unknownMetrics('rate(hookrelay_queue_dead_letters_total[5m]) / hookrelay_requests_total')).toEqual(
      ['hookrelay_queue_dead_letters_total'],
    );
    // A counter has no `_bucket` series.
    expect(unknownMetrics('hookrelay_requests_total_bucket')).toEqual(['hookrelay_requests_total_bucket']);
    expect(unknownLabels('sum without (instance, reasons) (hookrelay_verify_failures_total)')).toEqual([
      '(reasons)',
    ]);
    expect(unknownLabels('sum by (le, route) (rate(hookrelay_request_duration_seconds_bucket[5m]))')).toEqual(
      [],
    );
    expect(unknownLabels('hookrelay_queue_depth{status="pending"}')).toEqual([
      'hookrelay_queue_depth{status}',
    ]);
    expect(foreignMetrics('sum by (le) (rate(node_cpu_seconds_total{mode="x"}[5m])) / up')).toEqual([
      'node_cpu_seconds_total',
    ]);
    expect(
      foreignMetrics('histogram_quantile(0.99, sum by (le) (rate(hookrelay_requests_total[5m])))'),
    ).toEqual([]);
    expect(foreignMetrics('label_values(hookrelay_requests_total, route)')).toEqual([]);
    expect(foreignMetrics('label_values(nginx_requests_total, route)')).toEqual(['nginx_requests_total']);
  });
});

describe(RULES, () => {
  it('is one group, hookrelay, of alerts', () => {
    expect(rules.groups.map((g) => g.name)).toEqual(['hookrelay']);
    expect(alerts.length).toBeGreaterThanOrEqual(10);
    expect(new Set(alerts.map((a) => a.alert)).size).toBe(alerts.length);
  });

  it.each(alerts.map((a) => [a.alert, a] as const))(
    '%s queries only hookrelay metrics and labels',
    (_, a) => {
      expect(a.expr).toMatch(/hookrelay_[a-z_]+/);
      expect(unknownMetrics(a.expr)).toEqual([]);
      expect(unknownLabels(a.expr)).toEqual([]);
    },
  );

  it.each(alerts.map((a) => [a.alert, a] as const))('%s has for, severity and its annotations', (_, a) => {
    expect(a.for).toMatch(/^\d+[smh]$/);
    expect(['page', 'ticket']).toContain(a.labels?.severity);
    expect(a.annotations?.summary).toBeTruthy();
    expect(a.annotations?.description).toMatch(/\{\{ \$(labels\.\w+|value[^}]*) \}\}/);
    expect(a.annotations?.runbook_url).toBe(`${RUNBOOK}${a.alert.toLowerCase()}`);
  });

  it('every runbook_url has its section in docs/alerts.md', () => {
    const anchors = new Set(headingAnchors(read('docs/alerts.md')));
    const missing = alerts
      .map((a) => a.annotations?.runbook_url?.slice(RUNBOOK.length) ?? '')
      .filter((anchor) => !anchors.has(anchor));
    expect(missing).toEqual([]);
  });

  it('every alert has a unit test where it fires and one where it does not', () => {
    expect(ruleTests.rule_files).toEqual(['hookrelay-alerts.yml']);
    const cases = ruleTests.tests.flatMap((t) => t.alert_rule_test ?? []);
    const missing = alerts.flatMap((a) => {
      const own = cases.filter((c) => c.alertname === a.alert);
      return [
        ...(own.some((c) => c.exp_alerts.length > 0) ? [] : [`${a.alert}: no firing case`]),
        ...(own.some((c) => c.exp_alerts.length === 0) ? [] : [`${a.alert}: no quiet case`]),
      ];
    });
    expect(missing).toEqual([]);
    // A test of an alert that does not exist would pass vacuously: promtool expects it not to fire.
    const names = new Set(alerts.map((a) => a.alert));
    expect(cases.map((c) => c.alertname).filter((n) => !names.has(n))).toEqual([]);
  });
});

const PROMTOOL = requireTool({
  name: 'promtool',
  env: 'PROMTOOL',
  install: 'install it with `apt-get install -y prometheus` (Debian), or run `.ci/run`, which does',
});

function promtool(args: string[], cwd = ROOT) {
  const result = spawnSync(PROMTOOL!, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe.skipIf(PROMTOOL === undefined)('promtool', () => {
  const temp = mkdtempSync(join(tmpdir(), 'hookrelay-rules-'));
  afterAll(() => rmSync(temp, { recursive: true, force: true }));

  it(`check rules ${RULES}`, () => {
    const result = promtool(['check', 'rules', RULES]);
    expect(result.output).toContain(`SUCCESS: ${alerts.length} rules found`);
    expect(result.status).toBe(0);
  });

  it(`test rules ${RULE_TESTS}`, () => {
    const result = promtool(['test', 'rules', RULE_TESTS]);
    expect(result.output).toContain('SUCCESS');
    expect(result.output).not.toContain('FAILED');
    expect(result.status).toBe(0);
  });

  it('the unit tests are real: an expected annotation that differs fails them', () => {
    copyFileSync(join(ROOT, RULES), join(temp, 'hookrelay-alerts.yml'));
    const broken = read(RULE_TESTS).replace(
      'summary: The queue of route orders is full',
      'summary: all is well',
    );
    expect(broken).not.toBe(read(RULE_TESTS));
    writeFileSync(join(temp, 'hookrelay-alerts.test.yml'), broken);
    const result = promtool(['test', 'rules', 'hookrelay-alerts.test.yml'], temp);
    expect(result.output).toContain('FAILED');
    expect(result.status).not.toBe(0);
  });

  it("the dashboard's queries are valid PromQL (as recording rules, Grafana's variables filled in)", () => {
    const filled = dashboardExprs.map(({ expr }) =>
      expr
        .replace(/\blabel_values\(\s*([^,]+),\s*\w+\s*\)/g, '$1')
        .replace(/\$\{route\}|\$route\b/g, '.*')
        .replace(/\$__rate_interval\b/g, '5m')
        .replace(/\$__range\b/g, '6h'),
    );
    expect(filled.filter((expr) => expr.includes('$'))).toEqual([]);
    const file = join(temp, 'dashboard-queries.yml');
    const rules = filled.map(
      (expr, i) => `      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(expr)}\n`,
    );
    writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join('')}`);
    const result = promtool(['check', 'rules', file]);
    expect(result.output).toContain(`SUCCESS: ${filled.length} rules found`);
    expect(result.status).toBe(0);
  });

  it('the check is real: an unknown function fails check rules', () => {
    const file = join(temp, 'bad.yml');
    writeFileSync(
      file,
      'groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: no_such_function(hookrelay_queue_depth) > 0\n',
    );
    expect(promtool(['check', 'rules', file]).status).not.toBe(0);
  });
});

describe(DASHBOARD, () => {
  it('is importable as is: schema version, title, uid, and no datasource uid but ${datasource}', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.title).toBe('hookrelay');
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    const uids = [
      ...panels.map((p) => p.datasource?.uid),
      ...panels.flatMap((p) => (p.targets ?? []).map((t) => t.datasource?.uid)),
    ].filter((uid) => uid !== undefined);
    expect(uids.length).toBeGreaterThan(0);
    expect(uids.filter((uid) => uid !== '${datasource}')).toEqual([]);
    expect(read(DASHBOARD)).not.toContain('__inputs');
  });

  it('has the datasource and route variables', () => {
    const vars = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    expect(vars.get('datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const route = vars.get('route');
    expect(route).toMatchObject({ type: 'query', multi: true, includeAll: true });
    const query = typeof route!.query === 'string' ? route!.query : route!.query.query;
    expect(query).toBe('label_values(hookrelay_requests_total, route)');
  });

  it('panels have unique ids, a position and queries', () => {
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      expect(p.gridPos, p.title).toBeDefined();
      if (p.type !== 'row') expect(p.targets?.length, p.title).toBeGreaterThan(0);
    }
  });

  it('queries only hookrelay metrics (and up) and their labels', () => {
    expect(dashboardExprs.length).toBeGreaterThan(15);
    const bad = dashboardExprs.flatMap(({ where, expr }) =>
      [...unknownMetrics(expr), ...unknownLabels(expr)].map((name) => `${where}: ${name}`),
    );
    expect(bad).toEqual([]);
    expect(dashboardExprs.flatMap(({ expr }) => foreignMetrics(expr))).toEqual([]);
  });

  it('shows what docs/alerts.md says it shows', () => {
    const all = dashboardExprs.map((e) => e.expr).join('\n');
    for (const name of [
      'hookrelay_requests_total',
      'hookrelay_request_duration_seconds_bucket',
      'hookrelay_upstream_request_duration_seconds_bucket',
      'hookrelay_forward_attempts_total',
      'hookrelay_forward_retries_total',
      'hookrelay_queue_depth',
      'hookrelay_queue_oldest_pending_age_seconds',
      'hookrelay_queue_deliveries_total',
      'hookrelay_circuit_state',
      'hookrelay_verify_failures_total',
      'hookrelay_config_reloads_total',
      'hookrelay_config_info',
      'hookrelay_http_connections_dropped_total',
    ]) {
      expect(all, name).toContain(name);
    }
  });
});
