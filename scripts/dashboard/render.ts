/**
 * Renders a Grafana dashboard's panels, with the data Prometheus answered for them, as one static
 * HTML page for scripts/dashboard-screenshot.ts: rows, time series (lines or bars, legend on the
 * right with last and max), state timelines (value mappings as colours), stats (thresholds as
 * background) and tables, each where its gridPos puts it on Grafana's 24-column grid, in the colours
 * of Grafana's dark theme. Inline SVG and CSS only, no script: a look-alike of what Grafana would
 * draw, not Grafana. The page says so in its header.
 */
import type { Panel } from '../../test/deploy/dashboard-fixture.ts';

export interface Series {
  name: string;
  /** [unix seconds, value]; null where Prometheus had no value or answered NaN. */
  points: [number, number | null][];
}

export interface PanelData {
  panel: Panel;
  /** One entry per target, in the panel's target order. */
  series: Series[][];
  /** Labels of each series of an instant table query, per target. */
  rows?: Record<string, string>[][];
}

export interface Page {
  title: string;
  subtitle: string;
  note: string;
  start: number;
  end: number;
  panels: PanelData[];
}

const PALETTE = ['#73bf69', '#f2cc0c', '#8ab8ff', '#ff780a', '#f2495c', '#5794f2', '#b877d9', '#fade2a'];
const COLORS: Record<string, string> = {
  green: '#73bf69',
  red: '#f2495c',
  yellow: '#fade2a',
  orange: '#ff9830',
  blue: '#5794f2',
};
const COLUMNS = 24;
const WIDTH = 1440;
const COL = WIDTH / COLUMNS;
const ROW = 30;
const GAP = 8;

const esc = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
const color = (name: string | undefined) => (name ? (COLORS[name] ?? name) : PALETTE[0]!);

function number(v: number): string {
  const abs = Math.abs(v);
  const digits = abs >= 100 || abs === 0 ? 0 : abs >= 10 ? 1 : 2;
  return String(Number(v.toFixed(digits)));
}

/** A value in Grafana's notation for the panel's unit. */
export function formatValue(v: number | null | undefined, unit = 'short'): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  const scaled = (steps: [number, string][]) => {
    for (const [size, suffix] of steps)
      if (Math.abs(v) >= size) return `${number(size === 0 ? v : v / size)}${suffix}`;
    return number(v);
  };
  switch (unit) {
    case 'reqps':
      return `${number(v)} req/s`;
    case 'ops':
      return `${number(v)} ops/s`;
    case 'cps':
      return `${number(v)} c/s`;
    case 'percentunit':
      return `${number(v * 100)}%`;
    case 's':
      if (v === 0) return '0 s';
      if (Math.abs(v) < 1e-3) return `${number(v * 1e6)} µs`;
      if (Math.abs(v) < 1) return `${number(v * 1000)} ms`;
      return `${number(v)} s`;
    case 'bytes':
      return scaled([
        [1024 ** 3, ' GiB'],
        [1024 ** 2, ' MiB'],
        [1024, ' KiB'],
        [0, ' B'],
      ]);
    case 'dateTimeAsIso':
      return new Date(v).toISOString().replace('T', ' ').slice(0, 19);
    default:
      return scaled([
        [1e9, ' Bil'],
        [1e6, ' Mil'],
        [1e3, ' K'],
      ]);
  }
}

/** Round tick values from 0 (or the lowest value) up to at least `max`. */
function ticks(min: number, max: number): number[] {
  if (max <= min) max = min + 1;
  const raw = (max - min) / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let t = Math.floor(min / step) * step; t < max + step * 0.999; t += step)
    out.push(Number(t.toFixed(10)));
  return out;
}

const clock = (t: number) => new Date(t * 1000).toISOString().slice(11, 19);

function timeseries(d: PanelData, w: number, h: number, start: number, end: number): string {
  const defaults = d.panel.fieldConfig?.defaults ?? {};
  const unit = defaults.unit ?? 'short';
  const series = d.series.flat();
  if (series.every((s) => s.points.every(([, v]) => v === null))) return noData();
  const values = series.flatMap((s) => s.points.map(([, v]) => v)).filter((v): v is number => v !== null);
  const yTicks = ticks(defaults.min ?? Math.min(0, ...values), defaults.max ?? Math.max(...values));
  const [lo, hi] = [yTicks[0]!, yTicks.at(-1)!];
  const legendW = Math.min(Math.round(w * 0.42), 300);
  const left = 58;
  const [plotW, plotH] = [w - legendW - left - 10, h - 22];
  const x = (t: number) => left + ((t - start) / (end - start)) * plotW;
  const y = (v: number) => plotH - ((v - lo) / (hi - lo)) * plotH + 4;
  const bars = defaults.custom?.drawStyle === 'bars';
  const grid = yTicks
    .map(
      (t) =>
        `<line x1="${left}" x2="${left + plotW}" y1="${y(t)}" y2="${y(t)}" class="grid"/>` +
        `<text x="${left - 6}" y="${y(t) + 4}" text-anchor="end">${esc(formatValue(t, unit))}</text>`,
    )
    .join('');
  // A time label every 10 s or more, about 80 px apart, none cut at the right edge.
  const every = Math.max(10, Math.ceil((end - start) / Math.max(1, plotW / 80) / 10) * 10);
  const xTicks: string[] = [];
  for (let t = Math.ceil(start / every) * every; x(t) <= left + plotW - 22; t += every)
    xTicks.push(`<text x="${x(t)}" y="${plotH + 18}" text-anchor="middle">${clock(t)}</text>`);
  const lines = series
    .map((s, i) => {
      const stroke = PALETTE[i % PALETTE.length]!;
      if (bars) {
        const bw = Math.max(1, plotW / s.points.length - 1);
        return s.points
          .filter(([, v]) => v !== null && v > 0)
          .map(
            ([t, v]) =>
              `<rect x="${x(t) - bw / 2}" y="${y(v!)}" width="${bw}" height="${y(lo) - y(v!)}" fill="${stroke}" opacity="0.8"/>`,
          )
          .join('');
      }
      // A null breaks the line, as Grafana does by default.
      const runs: string[][] = [[]];
      for (const [t, v] of s.points) {
        if (v === null) runs.push([]);
        else runs.at(-1)!.push(`${x(t).toFixed(1)},${y(v).toFixed(1)}`);
      }
      return runs
        .filter((r) => r.length > 0)
        .map((r) =>
          r.length === 1
            ? `<circle cx="${r[0]!.split(',')[0]}" cy="${r[0]!.split(',')[1]}" r="1.5" fill="${stroke}"/>`
            : `<polyline points="${r.join(' ')}" stroke="${stroke}"/>`,
        )
        .join('');
    })
    .join('');
  const rows = series
    .map((s, i) => {
      const vs = s.points.map(([, v]) => v).filter((v): v is number => v !== null);
      const last = vs.at(-1);
      const max = vs.length ? Math.max(...vs) : undefined;
      return (
        `<tr><td><i style="background:${PALETTE[i % PALETTE.length]}"></i>${esc(s.name)}</td>` +
        `<td>${esc(formatValue(last, unit))}</td><td>${esc(formatValue(max, unit))}</td></tr>`
      );
    })
    .join('');
  return (
    `<div class="ts"><svg width="${w - legendW}" height="${h}">${grid}${xTicks.join('')}<g class="lines">${lines}</g></svg>` +
    `<table class="legend" style="width:${legendW}px"><tr><th></th><th>Last *</th><th>Max</th></tr>${rows}</table></div>`
  );
}

function mapped(d: PanelData, v: number | null): { text: string; color: string } {
  const options = d.panel.fieldConfig?.defaults?.mappings?.[0]?.options ?? {};
  if (v === null) return { text: '', color: 'transparent' };
  const found = options[String(v)];
  return { text: found?.text ?? String(v), color: color(found?.color ?? 'blue') };
}

function stateTimeline(d: PanelData, w: number, h: number, start: number, end: number): string {
  const series = d.series.flat();
  if (series.length === 0) return noData();
  const labelW = Math.min(200, Math.round(w * 0.3));
  const plotW = w - labelW - 8;
  const rowH = (h - 44) / series.length;
  const x = (t: number) => labelW + ((t - start) / (end - start)) * plotW;
  const rows = series
    .map((s, i) => {
      const top = 4 + i * rowH;
      const bands: string[] = [];
      // mergeValues: one band for each run of equal values.
      for (let j = 0; j < s.points.length; ) {
        const [t, v] = s.points[j]!;
        let k = j + 1;
        while (k < s.points.length && s.points[k]![1] === v) k++;
        const until = s.points[k]?.[0] ?? end;
        if (v !== null)
          bands.push(
            `<rect x="${x(t)}" y="${top}" width="${Math.max(0.5, x(until) - x(t))}" height="${rowH * 0.8}" fill="${mapped(d, v).color}"/>`,
          );
        j = k;
      }
      return `<text x="${labelW - 8}" y="${top + rowH * 0.45}" text-anchor="end">${esc(s.name)}</text>${bands.join('')}`;
    })
    .join('');
  const legend = Object.values(d.panel.fieldConfig?.defaults?.mappings?.[0]?.options ?? {})
    .map((o) => `<span><i style="background:${color(o.color)}"></i>${esc(o.text ?? '')}</span>`)
    .join('');
  const fractions = plotW > 500 ? [0, 0.25, 0.5, 0.75, 1] : [0, 0.5, 1];
  const anchors = fractions.map((f) => (f === 0 ? 'start' : f === 1 ? 'end' : 'middle'));
  const axis = fractions
    .map((f, i) => {
      const t = start + f * (end - start);
      return `<text x="${x(t)}" y="${4 + series.length * rowH + 14}" text-anchor="${anchors[i]}">${clock(t)}</text>`;
    })
    .join('');
  return `<svg width="${w}" height="${h - 24}">${rows}${axis}</svg><div class="states">${legend}</div>`;
}

function stat(d: PanelData): string {
  const defaults = d.panel.fieldConfig?.defaults ?? {};
  const series = d.series.flat();
  if (series.length === 0) return noData();
  const background = d.panel.options?.colorMode === 'background';
  const steps = defaults.thresholds?.steps ?? [];
  return `<div class="stats">${series
    .map((s) => {
      const v = s.points.at(-1)?.[1] ?? null;
      const step = steps.filter((st) => st.value === null || (v !== null && v >= st.value)).at(-1);
      const style = background ? `background:${color(step?.color)};color:#fff` : '';
      return `<div class="stat" style="${style}"><div class="name">${esc(s.name)}</div><div class="value">${esc(formatValue(v, defaults.unit))}</div></div>`;
    })
    .join('')}</div>`;
}

/** A table of instant queries merged on their shared labels (Grafana's merge and organize transforms). */
function table(d: PanelData): string {
  const rows = new Map<string, Record<string, string>>();
  d.panel.targets?.forEach((target, i) => {
    for (const row of d.rows?.[i] ?? []) {
      const { __value__: value, ...labels } = row;
      const key = labels.instance ?? JSON.stringify(labels);
      rows.set(key, { ...rows.get(key), ...labels, [`Value #${target.refId}`]: value ?? '' });
    }
  });
  if (rows.size === 0) return noData();
  const organize = d.panel.transformations?.find((t) => t.id === 'organize')?.options;
  const excluded = new Set(Object.keys(organize?.excludeByName ?? {}));
  const renamed = (organize?.renameByName ?? {}) as Record<string, string>;
  const columns = [...new Set([...rows.values()].flatMap((r) => Object.keys(r)))].filter(
    (c) => !excluded.has(c),
  );
  const unitOf = (column: string) =>
    d.panel.fieldConfig?.overrides
      ?.find((o) => o.matcher.options === (renamed[column] ?? column))
      ?.properties.find((p) => p.id === 'unit')?.value as string | undefined;
  const cell = (column: string, value: string | undefined) => {
    const unit = unitOf(column);
    return esc(unit && value !== undefined ? formatValue(Number(value), unit) : (value ?? ''));
  };
  return (
    `<table class="table"><tr>${columns.map((c) => `<th>${esc(renamed[c] ?? c)}</th>`).join('')}</tr>` +
    [...rows.values()]
      .map((r) => `<tr>${columns.map((c) => `<td>${cell(c, r[c])}</td>`).join('')}</tr>`)
      .join('') +
    '</table>'
  );
}

const noData = () => '<div class="nodata">No data</div>';

function panelHtml(d: PanelData, start: number, end: number): string {
  const g = d.panel.gridPos!;
  const [left, top] = [g.x * COL, g.y * (ROW + GAP)];
  const [w, h] = [g.w * COL - GAP, g.h * (ROW + GAP) - GAP];
  const box = `left:${left}px;top:${top}px;width:${w}px;height:${h}px`;
  if (d.panel.type === 'row') return `<div class="row" style="${box}">⌄ ${esc(d.panel.title)}</div>`;
  const [bw, bh] = [w - 16, h - 40];
  const body =
    d.panel.type === 'timeseries'
      ? timeseries(d, bw, bh, start, end)
      : d.panel.type === 'state-timeline'
        ? stateTimeline(d, bw, bh, start, end)
        : d.panel.type === 'stat'
          ? stat(d)
          : d.panel.type === 'table'
            ? table(d)
            : `<div class="nodata">${esc(d.panel.type)} panel</div>`;
  return `<div class="panel" style="${box}"><div class="title">${esc(d.panel.title)}</div><div class="body" style="height:${bh}px">${body}</div></div>`;
}

const CSS = `
* { box-sizing: border-box; }
body { margin: 0; background: #111217; color: #ccccdc; font: 12px/1.4 Inter, "Helvetica Neue", Arial, sans-serif; }
header { padding: 12px 16px 8px; }
header h1 { margin: 0; font-size: 18px; font-weight: 500; color: #d8d9da; }
header .sub { color: #8e8e9e; margin-top: 2px; }
header .note { margin-top: 6px; padding: 6px 10px; border-left: 3px solid #5794f2; background: #181b1f; color: #ccccdc; }
.grid-area { position: relative; margin: 8px 16px 16px; }
.panel { position: absolute; background: #181b1f; border: 1px solid #2c3235; border-radius: 2px; padding: 0 8px; overflow: hidden; }
.panel .title { height: 32px; line-height: 32px; font-weight: 500; color: #d8d9da; font-size: 13px; white-space: nowrap; overflow: hidden; }
.row { position: absolute; font-size: 15px; font-weight: 500; color: #d8d9da; line-height: 30px; }
svg text { fill: #8e8e9e; font-size: 10.5px; }
svg .grid { stroke: #2c3235; stroke-width: 1; }
svg .lines polyline { fill: none; stroke-width: 1.5; }
.ts { display: flex; }
.legend { border-collapse: collapse; align-self: flex-start; font-size: 11px; }
.legend th { text-align: right; color: #5794f2; font-weight: 500; padding: 1px 4px; white-space: nowrap; }
.legend td { padding: 1px 4px; text-align: right; white-space: nowrap; }
.legend td:first-child { text-align: left; max-width: 150px; overflow: hidden; text-overflow: ellipsis; }
.legend i, .states i { display: inline-block; width: 14px; height: 4px; margin-right: 6px; vertical-align: middle; border-radius: 2px; }
.states span { margin-right: 14px; }
.nodata { display: flex; height: 100%; align-items: center; justify-content: center; color: #8e8e9e; }
.stats { display: flex; gap: 8px; height: 100%; }
.stat { flex: 1; display: flex; flex-direction: column; justify-content: center; align-items: center; border-radius: 2px; }
.stat .name { font-size: 14px; }
.stat .value { font-size: 40px; font-weight: 500; }
.table { border-collapse: collapse; width: 100%; }
.table th { text-align: left; color: #5794f2; font-weight: 500; border-bottom: 1px solid #2c3235; padding: 4px 6px; }
.table td { padding: 4px 6px; border-bottom: 1px solid #22252b; }
`;

export function renderPage(page: Page): string {
  const bottom = Math.max(...page.panels.map((d) => d.panel.gridPos!.y + d.panel.gridPos!.h));
  return `<!doctype html><html><head><meta charset="utf-8"><style>${CSS}</style></head><body>
<header><h1>${esc(page.title)}</h1><div class="sub">${esc(page.subtitle)}</div><div class="note">${esc(page.note)}</div></header>
<div class="grid-area" style="width:${WIDTH}px;height:${bottom * (ROW + GAP)}px">
${page.panels.map((d) => panelHtml(d, page.start, page.end)).join('\n')}
</div></body></html>`;
}

export const PAGE_WIDTH = WIDTH + 32;
