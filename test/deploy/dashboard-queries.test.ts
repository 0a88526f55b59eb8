import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool } from '../support/system-tools.ts';
import {
  allPanels,
  type Dashboard,
  type Fixture,
  fillVariables,
  loadDashboards,
  PROMETHEUS,
  type PrometheusResult,
  ROUTES,
  startFixture,
  type VariableValues,
} from './dashboard-fixture.ts';
import { foreignMetrics, KNOWN, unknownLabels, unknownMetrics } from './promql-names.ts';

/**
 * Every query of the Grafana dashboards in deploy/grafana/, run against a real Prometheus (Debian's
 * `prometheus`, installed by `.ci/run`) that scraped a real relay under traffic on each kind of route
 * (dashboard-fixture.ts): each answers `success`, and the panels an operator opens first (traffic,
 * 5xx ratio, latency, queue depth, attempts, …) show the series that traffic made. Without the
 * binary those are skipped, saying so, except under CI, where they fail. The importability checks
 * need no tool: what Grafana's import needs, and only hookrelay's metrics in the queries.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = 'deploy/grafana/hookrelay-dashboard.json';
const dashboards = loadDashboards();

/** Every query of a dashboard: panel targets, and the query variables (`label_values(…)`). */
function queries(dashboard: Dashboard) {
  return [
    ...allPanels(dashboard).flatMap((panel) =>
      (panel.targets ?? []).map((target) => ({ panel, target, expr: target.expr })),
    ),
    ...dashboard.templating.list
      .filter((v) => v.type === 'query')
      .map((v) => ({
        panel: undefined,
        target: undefined,
        expr: typeof v.query === 'string' ? v.query : v.query.query,
      })),
  ];
}

/** Every `datasource` reference anywhere in the JSON, with where it is. */
function datasourceRefs(value: unknown, path = ''): { path: string; ref: unknown }[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => datasourceRefs(item, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, item]) => [
    ...(key === 'datasource' ? [{ path: `${path}.${key}`, ref: item }] : []),
    ...datasourceRefs(item, `${path}.${key}`),
  ]);
}

const FILL: VariableValues = { interval: '1s', rateInterval: '4s', range: '1h' };

describe('filling in template variables', () => {
  const dashboard = dashboards.find((d) => d.file === MAIN)!.dashboard;

  it('fills built-ins and the route variable as Grafana does, All included', () => {
    const expr = 'rate(x{route=~"${route}(/.*)?"}[$__rate_interval]) / $__range_s [[route]] ${route:raw}';
    expect(fillVariables(expr, dashboard, FILL)).toBe('rate(x{route=~".*(/.*)?"}[4s]) / 3600 .* .*');
    expect(fillVariables('${route}', dashboard, { ...FILL, selected: { route: ['a.b', 'c'] } })).toBe(
      '(a\\.b|c)',
    );
    expect(fillVariables('$route', dashboard, { ...FILL, selected: { route: ['orders'] } })).toBe('orders');
    expect(fillVariables('$instance', dashboard, { ...FILL, instance: '127.0.0.1:1' })).toBe('127.0.0.1:1');
  });

  it('refuses a variable or a format it does not know', () => {
    expect(() => fillVariables('rate(x[$__rate_intervall])', dashboard, FILL)).toThrow(
      /unknown variable \$__rate_intervall/,
    );
    expect(() => fillVariables('x{route=~"${routes}"}', dashboard, FILL)).toThrow(
      /unknown variable \$routes/,
    );
    expect(() => fillVariables('$instance', dashboard, FILL)).toThrow(/unknown variable \$instance/);
    expect(() => fillVariables('${route:csv}', dashboard, FILL)).toThrow(/unknown variable format/);
  });
});

describe.each(dashboards.map((d) => [d.file, d.dashboard] as const))('%s is importable', (_, dashboard) => {
  const panels = allPanels(dashboard);

  it('has a uid, a title and schemaVersion 39 or later', () => {
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(dashboard.title).toBeTruthy();
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
  });

  it('has unique panel ids and every panel inside the 24 columns', () => {
    const ids = panels.map((p) => p.id);
    expect(ids.every((id) => Number.isInteger(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const outside = panels.filter(({ gridPos: g }) => !g || g.x < 0 || g.w < 1 || g.h < 1 || g.x + g.w > 24);
    expect(outside.map((p) => p.title)).toEqual([]);
  });

  it('refers to its data source only through the datasource variable', () => {
    const variable = dashboard.templating.list.find((v) => v.type === 'datasource');
    expect(variable).toMatchObject({ name: 'datasource', query: 'prometheus' });
    const refs = datasourceRefs(dashboard);
    expect(refs.length).toBeGreaterThan(panels.length / 2);
    const builtIn = (ref: unknown) =>
      typeof ref === 'object' && ref !== null && (ref as { uid?: string }).uid === '-- Grafana --';
    const fixed = refs.filter(({ path, ref }) => {
      if (path.startsWith('.annotations.') && builtIn(ref)) return false;
      const uid = typeof ref === 'string' ? ref : (ref as { uid?: string } | null)?.uid;
      return uid !== '${datasource}';
    });
    expect(fixed).toEqual([]);
  });

  it('queries only metrics hookrelay exports and docs/metrics.md lists, with their labels', () => {
    const all = queries(dashboard);
    expect(all.length).toBeGreaterThan(0);
    const where = (q: (typeof all)[number]) => q.panel?.title ?? 'variable';
    expect(
      all.flatMap((q) =>
        [...unknownMetrics(q.expr), ...unknownLabels(q.expr)].map((n) => `${where(q)}: ${n}`),
      ),
    ).toEqual([]);
    expect(all.flatMap((q) => foreignMetrics(q.expr).map((n) => `${where(q)}: ${n}`))).toEqual([]);
    const documented = readFileSync(resolve(ROOT, 'docs/metrics.md'), 'utf8');
    const used = new Set(all.flatMap((q) => [...q.expr.matchAll(/hookrelay_[a-z_]+/g)].map((m) => m[0])));
    const base = (name: string) => name.replace(/_(bucket|sum|count)$/, '');
    expect([...used].filter((name) => KNOWN.has(name) && !documented.includes(base(name)))).toEqual([]);
  });

  it('fills in every query without an unknown variable', () => {
    for (const { expr } of queries(dashboard))
      expect(fillVariables(expr, dashboard, FILL)).not.toContain('$');
  });
});

const BINARY = requireTool(PROMETHEUS);

describe.skipIf(BINARY === undefined)('the dashboard queries against Prometheus scraping a relay', () => {
  let fixture: Fixture;
  let values: VariableValues;

  beforeAll(async () => {
    fixture = await startFixture(BINARY!);
    // Counters are born in the first round; the rounds after it are what rate() sees.
    const answers = await fixture.round();
    await fixture.prometheus.waitForScrapes(2);
    answers.push(...(await fixture.round()), ...(await fixture.round()));
    const statuses = new Set(answers.map((a) => `${a.route} ${a.status}`));
    expect([...statuses].sort()).toEqual(
      [
        `${ROUTES.syncOk} 200`,
        `${ROUTES.asyncOk} 202`,
        `${ROUTES.asyncFailing} 202`,
        `${ROUTES.syncFailing} 502`,
        `${ROUTES.verified} 200`,
        `${ROUTES.verified} 401`,
      ].sort(),
    );
    await fixture.settled();
    await fixture.prometheus.waitForScrapes(2);
    // One window over the whole run, so an instant query sees all of the traffic.
    const window = `${Math.ceil(Date.now() / 1000 - fixture.startedAt) + 2}s`;
    values = { interval: '1s', rateInterval: window, range: window, instance: fixture.instance };
  }, 40_000);

  afterAll(async () => {
    await fixture?.close();
  });

  const run = (dashboard: Dashboard, expr: string, selected?: Record<string, string[]>) =>
    fixture.prometheus.query(fillVariables(expr, dashboard, { ...values, selected }));

  const cases = dashboards.flatMap(({ file, dashboard }) =>
    queries(dashboard).map((q) => ({
      name: `${file}: ${q.panel ? `#${q.panel.id} ${q.panel.title} ${q.target?.refId ?? ''}` : 'variable'}`,
      dashboard,
      expr: q.expr,
    })),
  );

  it.each(cases.map((c) => [c.name, c] as const))('%s answers success', async (_, { dashboard, expr }) => {
    const result = await run(dashboard, expr.replace(/\blabel_values\(\s*([^,]+),\s*\w+\s*\)/g, '$1'));
    expect(result.error ?? '').toBe('');
    expect(result.status).toBe('success');
    expect(result.data?.resultType).toBe('vector');
  });

  const main = dashboards.find((d) => d.file === MAIN)!.dashboard;
  /** The results of each target of the panel titled `title`, with values as numbers. */
  const panel = async (title: string, selected?: Record<string, string[]>) => {
    const found = allPanels(main).find((p) => p.title === title);
    expect(found, `no panel titled '${title}' in ${MAIN}`).toBeDefined();
    const results: PrometheusResult[] = [];
    for (const target of found!.targets ?? []) results.push(await run(main, target.expr, selected));
    return results.map((r) => {
      expect(r.status).toBe('success');
      return (r.data?.result ?? []).map((s) => ({ metric: s.metric, value: Number(s.value?.[1]) }));
    });
  };
  const ALL_ROUTES = Object.values(ROUTES).sort();

  it('request rate by route: every route, each above zero', async () => {
    const [rates] = await panel('Request rate by route');
    expect(rates!.map((s) => s.metric.route).sort()).toEqual(ALL_ROUTES);
    expect(rates!.filter((s) => !(s.value > 0))).toEqual([]);
  });

  it('the route variable narrows a panel to the route chosen', async () => {
    const [rates] = await panel('Request rate by route', { route: [ROUTES.syncOk, ROUTES.verified] });
    expect(rates!.map((s) => s.metric.route).sort()).toEqual([ROUTES.syncOk, ROUTES.verified].sort());
  });

  it('5xx ratio: the route whose target fails answers 5xx only, the others have no 5xx', async () => {
    const [ratio] = await panel('5xx ratio by route');
    expect(ratio).toEqual([{ metric: { route: ROUTES.syncFailing }, value: 1 }]);
  });

  it('answers by status and error answers by code', async () => {
    const [statuses] = await panel('Answers by status');
    expect(statuses!.map((s) => s.metric.status).sort()).toEqual(['200', '202', '401', '502']);
    const [codes] = await panel('Error answers by code');
    expect(codes!.map((s) => s.metric.code).sort()).toEqual([
      'HOOKRELAY_ERR_UNAUTHORIZED',
      'HOOKRELAY_ERR_UPSTREAM_FAILED',
    ]);
  });

  it('inbound and upstream latency: p50 <= p95 <= p99, finite and above zero', async () => {
    for (const title of ['Inbound latency (p50, p95, p99)', 'Upstream attempt latency (p50, p95, p99)']) {
      const quantiles = (await panel(title)).map((series) => {
        expect(series, title).toHaveLength(1);
        return series[0]!.value;
      });
      expect(quantiles, title).toHaveLength(3);
      expect(
        quantiles.every((q) => Number.isFinite(q) && q > 0),
        `${title}: ${quantiles}`,
      ).toBe(true);
      expect(
        [...quantiles].sort((a, b) => a - b),
        title,
      ).toEqual(quantiles);
    }
  });

  it('queue depth: pending and in flight of both queued routes', async () => {
    const [depth] = await panel('Queue depth');
    const keys = depth!.map((s) => `${s.metric.route} ${s.metric.state}`).sort();
    expect(keys).toEqual(
      [ROUTES.asyncFailing, ROUTES.asyncOk]
        .sort()
        .flatMap((route) => [`${route} inflight`, `${route} pending`]),
    );
    // settled() waited for every queued delivery to finish.
    expect(depth!.map((s) => s.value)).toEqual([0, 0, 0, 0]);
  });

  it('attempts by outcome, retries, finished deliveries', async () => {
    const [attempts] = await panel('Attempts by outcome');
    expect(attempts!.map((s) => s.metric.outcome).sort()).toEqual(['2xx', '5xx']);
    expect(attempts!.filter((s) => !(s.value > 0))).toEqual([]);
    const [retries] = await panel('Retries and reconnects');
    expect(
      retries!
        .filter((s) => s.value > 0)
        .map((s) => s.metric.route)
        .sort(),
    ).toEqual([ROUTES.asyncFailing, ROUTES.syncFailing].sort());
    const [deliveries] = await panel('Finished deliveries by result');
    expect(deliveries!.map((s) => s.metric.result)).toContain('delivered');
  });

  it('dead letters, queued outcomes and the circuit of the failing queued route', async () => {
    const [dead] = await panel('Dead letters in the time range');
    expect(dead!.find((s) => s.metric.route === ROUTES.asyncFailing)?.value).toBeGreaterThan(0);
    const [outcomes, kept] = await panel('Queued outcomes and dead letters kept');
    expect(outcomes!.map((s) => s.metric.outcome)).toEqual(
      expect.arrayContaining(['delivered', 'dead', 'retry']),
    );
    expect(kept!.find((s) => s.metric.route === ROUTES.asyncFailing)?.value).toBeGreaterThan(0);
    const [circuit] = await panel('Circuit state');
    expect(circuit!.map((s) => s.metric.route)).toEqual([ROUTES.asyncFailing]);
    expect(circuit!.map((s) => s.metric.instance)).toEqual([fixture.instance]);
  });

  it('verification failures by reason on the verified route', async () => {
    const [failures] = await panel('Verification failures');
    expect(failures!.map((s) => `${s.metric.route} ${s.metric.reason}`).sort()).toEqual([
      `${ROUTES.verified} mismatch`,
      `${ROUTES.verified} missing`,
    ]);
  });

  it('configuration serving now, routes and instances', async () => {
    const [hash, loaded] = await panel('Configuration serving now');
    expect(hash!.map((s) => s.metric.instance)).toEqual([fixture.instance]);
    expect(hash![0]!.metric.hash).toMatch(/^[0-9a-f]{12}$/);
    expect(loaded![0]!.value).toBeGreaterThan(fixture.startedAt * 1000 - 60_000);
    const [routes, instances] = await panel('Routes and instances');
    expect(routes!.map((s) => s.value)).toEqual([ALL_ROUTES.length]);
    expect(instances!.map((s) => s.value)).toEqual([1]);
  });

  it('the queries are real: a misspelt metric answers success with no series', async () => {
    const result = await fixture.prometheus.query('sum(rate(hookrelay_requests_totl[1m]))');
    expect(result.status).toBe('success');
    expect(result.data?.result).toEqual([]);
    const broken = await fixture.prometheus.query('sum(rate(hookrelay_requests_total[1m])');
    expect(broken.status).toBe('error');
  });
});
