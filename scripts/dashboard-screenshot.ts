/**
 * Makes docs/images/grafana-dashboard.png: the panels of deploy/grafana/hookrelay-dashboard.json
 * drawn from real data. It starts the setup of the dashboard query test (test/deploy/dashboard-fixture.ts:
 * a relay with a healthy sync route, a queued one, a target answering 503 behind a sync and a
 * queued route, an HMAC-verified route, and a real `prometheus` scraping it every second), sends
 * traffic of varying intensity for a while, asks Prometheus for every panel's targets (query_range,
 * a 1 s step, `$__rate_interval` 4 s as Grafana computes it for a 1 s scrape; instant queries for
 * stats and tables), renders them with scripts/dashboard/render.ts and screenshots the page in a
 * local headless Chromium through puppeteer-core. Grafana itself is not involved.
 *
 *   node_modules/.bin/node scripts/dashboard-screenshot.ts [seconds of traffic, default 45]
 *   (PROMETHEUS and CHROMIUM_PATH name other binaries)
 */
import { mkdirSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import puppeteer from 'puppeteer-core';
import { CHROMIUM_ARGS, findChromium } from '../test/admin/console/relay.ts';
import {
  type Dashboard,
  fillVariables,
  loadDashboards,
  PROMETHEUS,
  type PrometheusResult,
  startFixture,
  type VariableValues,
} from '../test/deploy/dashboard-fixture.ts';
import { findTool } from '../test/support/system-tools.ts';
import { PAGE_WIDTH, type PanelData, renderPage, type Series } from './dashboard/render.ts';

const FILE = 'deploy/grafana/hookrelay-dashboard.json';
const OUT = new URL('../docs/images/grafana-dashboard.png', import.meta.url);
const LIMIT = 600 * 1024;
const seconds = Number(process.argv[2] ?? 45);

const chromium = findChromium();
const prometheusBinary = findTool(PROMETHEUS);
if (!chromium || !prometheusBinary) {
  console.error(
    `dashboard-screenshot: ${chromium ? '' : 'no Chromium found (set CHROMIUM_PATH); '}${prometheusBinary ? '' : `prometheus not found (${PROMETHEUS.install})`}`,
  );
  process.exit(1);
}
const dashboard: Dashboard = loadDashboards().find((d) => d.file === FILE)!.dashboard;

/** `{{label}}` in a legend format, filled from the series' labels (Grafana's legend). */
function legend(format: string | undefined, metric: Record<string, string>): string {
  const { __name__: _name, ...labels } = metric;
  if (format && format !== '__auto')
    return format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => labels[name] ?? '').trim();
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return pairs.length ? `{${pairs.join(', ')}}` : 'Value';
}

const value = (text: string): number | null => {
  const v = Number(text);
  return Number.isFinite(v) ? v : null;
};

function check(result: PrometheusResult, expr: string): NonNullable<PrometheusResult['data']> {
  if (result.status !== 'success' || !result.data) throw new Error(`${expr}: ${result.error}`);
  return result.data;
}

const fixture = await startFixture(prometheusBinary);
try {
  const start = Math.floor(Date.now() / 1000);
  console.log(`dashboard-screenshot: ${seconds} s of traffic to ${fixture.relay.url}`);
  // Rounds of 14 requests, one to five a second on a slow wave, so the lines have a shape.
  for (let t = 0; t < seconds; t++) {
    const began = Date.now();
    const rounds = 1 + Math.round(2 + 2 * Math.sin((2 * Math.PI * t) / 24));
    await Promise.all(Array.from({ length: rounds }, () => fixture.round()));
    await sleep(Math.max(0, 1000 - (Date.now() - began)));
  }
  // A quiet tail: the rates fall back, the failing route's queue keeps its backlog.
  await sleep(6_000);
  await fixture.prometheus.waitForScrapes(1);
  const end = Math.floor(Date.now() / 1000);
  const step = 1;
  const values: VariableValues = {
    interval: `${step}s`,
    rateInterval: '4s',
    range: `${end - start}s`,
    instance: fixture.instance,
  };

  const panels: PanelData[] = [];
  for (const panel of dashboard.panels) {
    const data: PanelData = { panel, series: [], rows: [] };
    for (const target of panel.targets ?? []) {
      const expr = fillVariables(target.expr, dashboard, values);
      if (target.instant) {
        const result = check(await fixture.prometheus.query(expr, end), expr);
        data.series.push(
          result.result.map(
            (s): Series => ({
              name: legend(target.legendFormat, s.metric),
              points: [[end, value(s.value![1])]],
            }),
          ),
        );
        data.rows!.push(result.result.map((s) => ({ ...s.metric, __value__: s.value![1] })));
        continue;
      }
      const result = check(await fixture.prometheus.queryRange(expr, start, end, step), expr);
      data.series.push(
        result.result.map((s): Series => {
          const byTime = new Map((s.values ?? []).map(([t, v]) => [Math.round(t), value(v)]));
          const points: Series['points'] = [];
          for (let t = start; t <= end; t += step) points.push([t, byTime.get(t) ?? null]);
          return { name: legend(target.legendFormat, s.metric), points };
        }),
      );
    }
    panels.push(data);
  }

  const html = renderPage({
    title: dashboard.title,
    subtitle: `Data source: prometheus · Route: All · ${new Date(start * 1000).toISOString().slice(11, 19)} to ${new Date(end * 1000).toISOString().slice(11, 19)} UTC`,
    note:
      'Rendered by scripts/dashboard-screenshot.ts, not by Grafana: every panel and query of ' +
      `${FILE}, answered by a real Prometheus that scraped a relay (every 1 s) under ${seconds} s of test traffic.`,
    start,
    end,
    panels,
  });

  const browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: PAGE_WIDTH, height: 800, deviceScaleFactor: 1 });
    await page.setContent(html, { waitUntil: 'load' });
    mkdirSync(new URL('.', OUT), { recursive: true });
    await page.screenshot({ path: OUT.pathname as `${string}.png`, fullPage: true });
  } finally {
    await browser.close();
  }
  const size = statSync(OUT).size;
  console.log(`dashboard-screenshot: ${OUT.pathname} (${Math.round(size / 1024)} KiB)`);
  if (size > LIMIT) {
    console.error(`dashboard-screenshot: over ${LIMIT / 1024} KiB`);
    process.exitCode = 1;
  }
} finally {
  await fixture.close();
}
