/**
 * docs/metrics.md: the prose of metrics.md.tmpl around a row per metric definition, with the values
 * that come from the code filled in: the no-route label, the error codes and the histogram buckets.
 */
import type { Histogram } from 'prom-client';
import { code, escapeCell, tableRow } from './markdown.ts';
import {
  createMetrics,
  ERRORS,
  type ErrorCode,
  isAdminCode,
  METRIC_DEFINITIONS,
  NO_ROUTE,
  SOURCE,
} from './sources.ts';
import { renderPage } from './template.ts';

/**
 * The bucket bounds every hookrelay histogram shares, read from the live registry so the doc
 * follows the code. The page states them once for all histograms: one with its own bounds needs
 * its own sentence in the template first.
 */
async function sharedBuckets(): Promise<string[]> {
  const metrics = createMetrics({ version: 'docs', defaultMetrics: false });
  const bounds = new Map<string, string[]>();
  for (const d of Object.values(METRIC_DEFINITIONS)) {
    if (d.type !== 'histogram') continue;
    const histogram = metrics.registry.getSingleMetric(d.name) as Histogram<string>;
    // A histogram reports its buckets once it has a series.
    histogram.observe(Object.fromEntries(d.labelNames.map((l) => [l, 'x'])), 0);
    const data = await histogram.get();
    bounds.set(
      d.name,
      data.values
        .map((v) => (v.labels as Record<string, string | number | undefined>).le)
        .filter((le) => le !== undefined && le !== '+Inf')
        .map(String),
    );
  }
  const [first] = [...bounds.values()];
  if (!first) throw new Error('metrics.md describes histogram buckets, but no metric is a histogram');
  const different = [...bounds].filter(([, b]) => b.join() !== first.join()).map(([name]) => name);
  if (different.length) {
    throw new Error(`metrics.md gives one set of bucket bounds, but these differ: ${different.join(', ')}`);
  }
  return first;
}

export async function renderMetrics(): Promise<string> {
  const rows = Object.values(METRIC_DEFINITIONS).map((d) =>
    tableRow([code(d.name), d.type, d.labelNames.map((l) => code(l)).join(', '), escapeCell(d.help)]),
  );
  return renderPage('metrics.md.tmpl', SOURCE.metrics, {
    'metric-rows': rows.join('\n'),
    'no-route': NO_ROUTE,
    'error-codes': (Object.keys(ERRORS) as ErrorCode[])
      .filter((c) => !isAdminCode(c))
      .map((c) => code(c))
      .join(', '),
    buckets: (await sharedBuckets()).map((b) => code(b)).join(', '),
  });
}
