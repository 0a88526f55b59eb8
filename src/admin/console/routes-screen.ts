/**
 * The routes screen (`/console`): each route with its targets, delivery mode, circuit states and
 * queue depth, the loaded configuration's hash and load time with the last reload's result, and
 * the Reload button (`POST /console/reload`), whose answer is the ReloadReport.
 */
import type { QueueStats } from '../../queue/types.ts';
import type { ConfigView, ReloadReport, RouteView } from '../live.ts';
import { type Answer, type ConsoleDeps, type ConsoleRequest, redactView } from './context.ts';
import { html, query, type SafeHtml } from './html.ts';
import { age, csrfField, page, statusBadge } from './layout.ts';

const EMPTY_STATS: QueueStats = { byRoute: {}, oldestPending: {} };

export async function routesScreen(
  deps: ConsoleDeps,
  request: ConsoleRequest,
  report?: ReloadReport,
): Promise<Answer> {
  const driver = deps.queue();
  const stats = driver ? await driver.stats() : EMPTY_STATS;
  const live = deps.live;
  const routes = live ? redactView(deps.secrets, live.routes()) : [];
  const config = live ? redactView(deps.secrets, live.config()) : undefined;
  const now = deps.now();
  const body = html`<h2>Routes</h2>
${report ? reloadReport(redactView(deps.secrets, report)) : ''}
${config ? configFacts(config, request.csrf, now) : html`<p class="notice">No running relay is attached: only the queue is shown.</p>`}
<table id="routes">
<thead><tr><th>Route</th><th>Delivery</th><th>Path</th><th>Targets</th><th>Circuit</th><th class="num">Pending</th><th class="num">In flight</th><th class="num">Dead</th><th>Oldest pending</th></tr></thead>
<tbody>
${queueRows(routes, stats, now, live !== undefined)}
</tbody>
</table>`;
  return { status: report?.result === 'refused' ? 422 : 200, body: page(request, 'routes', 'Routes', body) };
}

function configFacts(config: ConfigView, csrf: string, now: number): SafeHtml {
  const last = config.lastReload;
  return html`<dl class="facts" id="config">
<dt>Configuration</dt><dd><code>${config.file}</code></dd>
<dt>Hash</dt><dd><code>${config.hash}</code></dd>
<dt>Loaded</dt><dd>${new Date(config.loadedAt).toISOString()} <span class="muted">(${age(now - config.loadedAt)} ago)</span></dd>
<dt>Last reload</dt><dd>${last ? html`${statusBadge(last.result)} ${new Date(last.at).toISOString()} by ${last.trigger}${last.errors.length > 0 ? html` · ${last.errors.length} error(s)` : ''}` : html`<span class="muted">none since start</span>`}</dd>
</dl>
<form method="post" action="/console/reload" class="actions">${csrfField(csrf)}<button type="submit" class="primary">Reload configuration</button><span class="muted">reads the file again; an invalid file is refused and the running configuration stays</span></form>`;
}

function reloadReport(report: ReloadReport): SafeHtml {
  const kind = report.result === 'refused' ? 'bad' : 'good';
  const list = (label: string, items: string[]) =>
    items.length > 0 ? html`<p>${label}: ${items.join(', ')}</p>` : '';
  return html`<div class="notice ${kind}" id="reload-report" role="status">
<p><strong>Reload ${report.result}</strong> (${report.durationMs} ms), configuration <code>${report.hash.slice(0, 12)}</code></p>
${report.errors.length > 0 ? html`<ul>${report.errors.map((e) => html`<li><code>${e}</code></li>`)}</ul>` : ''}
${list('Added', report.routes.added)}${list('Removed', report.routes.removed)}${list('Changed', report.routes.changed)}
${list('Needs a restart to take effect', report.restartRequired)}
</div>`;
}

function queueRows(routes: RouteView[], stats: QueueStats, now: number, attached: boolean): SafeHtml[] {
  const rows: SafeHtml[] = [];
  const shown = new Set<string>();
  for (const route of routes) {
    const queueIds = route.targets.flatMap((t) => (t.queueId ? [t.queueId] : []));
    for (const id of queueIds) shown.add(id);
    const targets = html`${route.targets.map((t) => html`<div><span class="muted">${t.name}</span> <code>${t.url}</code></div>`)}`;
    const circuits = html`${Object.entries(route.circuits).map(([id, state]) => html`<div>${queueIds.length > 1 ? html`<span class="muted">${id}</span> ` : ''}${statusBadge(state)}</div>`)}`;
    rows.push(
      html`<tr><td><strong>${route.id}</strong></td><td>${route.delivery}</td><td><code>${route.methods.join(' ')} ${route.path}</code></td><td>${targets}</td><td>${circuits}</td>${depth(queueIds, stats, now)}</tr>`,
    );
  }
  // Queued deliveries of routes the configuration no longer has (removed by a reload).
  for (const id of Object.keys(stats.byRoute).sort()) {
    if (shown.has(id)) continue;
    rows.push(
      html`<tr><td><strong>${id}</strong>${attached ? html` <span class="muted">(not in the configuration)</span>` : ''}</td><td>${attached ? '–' : 'queued'}</td><td></td><td></td><td></td>${depth([id], stats, now)}</tr>`,
    );
  }
  return rows;
}

function depth(queueIds: string[], stats: QueueStats, now: number): SafeHtml {
  if (queueIds.length === 0)
    return html`<td class="num muted">–</td><td class="num muted">–</td><td class="num muted">–</td><td class="muted">not queued</td>`;
  const sum = (status: 'pending' | 'inflight' | 'dead') =>
    queueIds.reduce((n, id) => n + (stats.byRoute[id]?.[status]?.count ?? 0), 0);
  const oldest = Math.min(...queueIds.map((id) => stats.oldestPending[id] ?? Number.POSITIVE_INFINITY));
  const link = (status: string, n: number) =>
    n > 0
      ? html`<a href="${`/console/deliveries${query({ route: queueIds.length === 1 ? queueIds[0] : undefined, status })}`}">${n}</a>`
      : html`${n}`;
  return html`<td class="num">${link('pending', sum('pending'))}</td><td class="num">${link('inflight', sum('inflight'))}</td><td class="num">${link('dead', sum('dead'))}</td><td>${Number.isFinite(oldest) ? age(now - oldest) : html`<span class="muted">none</span>`}</td>`;
}
