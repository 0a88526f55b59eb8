/**
 * The metric and label names a PromQL expression uses, checked against what hookrelay exports
 * (src/telemetry/metrics.ts). Shared by the alert rule and dashboard tests; regular expressions,
 * not a PromQL parser, tested on both sides in prometheus-rules.test.ts.
 */
import { METRIC_DEFINITIONS } from '../../src/telemetry/metrics.ts';

/** Names a metric can be queried by: a histogram's series add `_bucket`, `_sum` and `_count`. */
export const KNOWN = new Set(
  Object.values(METRIC_DEFINITIONS).flatMap((d) =>
    d.type === 'histogram' ? [d.name, `${d.name}_bucket`, `${d.name}_sum`, `${d.name}_count`] : [d.name],
  ),
);

/** The hookrelay metric names a PromQL expression uses that hookrelay does not export. */
export function unknownMetrics(expr: string): string[] {
  return [...expr.matchAll(/hookrelay_[a-z_]+/g)].map((m) => m[0]).filter((name) => !KNOWN.has(name));
}

/** The label names a PromQL expression matches on a hookrelay metric (`metric{a="x", b=~"y"}`). */
function matchedLabels(expr: string): { metric: string; label: string }[] {
  return [...expr.matchAll(/(hookrelay_[a-z_]+)\{([^}]*)\}/g)].flatMap((m) =>
    [...m[2]!.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((l) => ({ metric: m[1]!, label: l[1]! })),
  );
}

/** The definition's label names, by metric name (histogram suffixes included; `le` on `_bucket`). */
const LABELS = new Map<string, string[]>(
  Object.values(METRIC_DEFINITIONS).flatMap((d) => {
    const own = [...d.labelNames];
    return d.type === 'histogram'
      ? [
          [d.name, own],
          [`${d.name}_bucket`, [...own, 'le']],
          [`${d.name}_sum`, own],
          [`${d.name}_count`, own],
        ]
      : [[d.name, own]];
  }),
);
/** Labels Prometheus adds at scrape time, which any selector may use. */
const TARGET_LABELS = new Set(['job', 'instance', 'pod', 'namespace']);

/**
 * Labels matched on a metric that it does not have, and labels grouped on (`by`, `without`, `on`,
 * `ignoring`) that none of the expression's metrics has: a typo there would silently keep or drop a
 * label.
 */
export function unknownLabels(expr: string): string[] {
  const selected = matchedLabels(expr)
    .filter(({ metric, label }) => !TARGET_LABELS.has(label) && !(LABELS.get(metric) ?? []).includes(label))
    .map(({ metric, label }) => `${metric}{${label}}`);
  const used = [...expr.matchAll(/hookrelay_[a-z_]+/g)].flatMap((m) => LABELS.get(m[0]) ?? []);
  const known = new Set([...TARGET_LABELS, 'le', ...used]);
  const grouped = [...expr.matchAll(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g)]
    .flatMap((m) => m[1]!.split(','))
    .map((label) => label.trim())
    .filter((label) => label !== '' && !known.has(label))
    .map((label) => `(${label})`);
  return [...selected, ...grouped];
}

/**
 * Metric names an expression uses that are neither hookrelay's nor `up`: what is left once strings,
 * selectors, ranges, grouping clauses and function names are taken out.
 */
export function foreignMetrics(expr: string): string[] {
  const bare = expr
    // Grafana's `label_values(metric, label)`: the label is no metric.
    .replace(/\blabel_values\(\s*([^,]+),\s*\w+\s*\)/g, '$1')
    .replace(/"[^"]*"/g, '')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  return [...bare.matchAll(/\b[a-z_][a-z0-9_]*\b(?!\s*\()/g)]
    .map((m) => m[0])
    .filter(
      (word) => !word.startsWith('hookrelay_') && !['up', 'and', 'or', 'unless', 'bool'].includes(word),
    );
}
