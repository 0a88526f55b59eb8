/**
 * The deliveries screen (`/console/deliveries`), and with `status=dead` the dead letters: a
 * filter form (route, status, time range, error code), one page of the matching deliveries as a
 * table, and the link to the next page (`after`, the last id shown). htmx swaps only the results
 * (`#results`) and pushes the URL; without JavaScript the same form and links load whole pages.
 * Dead and delivered ones can be replayed from here: one, the ones ticked, or every match.
 */
import { type DeliverySummary, STATUSES, summary } from '../../present/view.ts';
import type { DeliveryRecord } from '../../queue/types.ts';
import { type Answer, type ConsoleDeps, type ConsoleRequest, redactView } from './context.ts';
import { type ConsoleFilter, driverFilter, filterParams, PAGE_SIZE, pageSize, readFilter } from './filter.ts';
import { html, query, type SafeHtml } from './html.ts';
import { csrfField, page, statusBadge } from './layout.ts';
import { requireQueue } from './queue.ts';

export async function deliveriesScreen(deps: ConsoleDeps, request: ConsoleRequest): Promise<Answer> {
  const params = request.url.searchParams;
  const filter = readFilter(params, deps.now());
  const limit = pageSize(params);
  const after = params.get('after') || undefined;
  const driver = requireQueue(deps);
  const [records, total] = await Promise.all([
    driver.list({ ...driverFilter(filter), limit, after }),
    driver.count(driverFilter(filter)),
  ]);
  const rows = redactView(deps.secrets, await Promise.all(records.map(summary)));
  const next = records.length === limit ? records[records.length - 1]!.id : undefined;
  const section = results(filter, rows, records, total, { next, limit, after, csrf: request.csrf });
  // The address bar gets the filter without its empty fields (htmx would push them all).
  const address = `/console/deliveries${query({ ...filterParams(filter), limit: limit === PAGE_SIZE ? undefined : limit, after })}`;
  if (request.fragment) return { status: 200, body: section, headers: { 'hx-push-url': address } };
  const dead = filter.form.status === 'dead';
  const title = dead ? 'Dead letters' : 'Deliveries';
  const body = html`<h2>${title}</h2>
${filterForm(filter, limit)}
${section}`;
  return { status: 200, body: page(request, dead ? 'dead' : 'deliveries', title, body) };
}

function filterForm(filter: ConsoleFilter, limit: number): SafeHtml {
  const f = filter.form;
  const option = (value: string, label: string) =>
    html`<option value="${value}"${f.status === value ? html` selected` : ''}>${label}</option>`;
  return html`<form class="filters" id="filters" method="get" action="/console/deliveries" hx-get="/console/deliveries" hx-target="#results" hx-swap="outerHTML" hx-push-url="true">
<label>Route <input name="route" value="${f.route}" size="16"></label>
<label>Status <select name="status">${option('', 'any')}${STATUSES.map((s) => option(s, s))}</select></label>
<label>Error code <input name="code" value="${f.code}" size="30" placeholder="HOOKRELAY_ERR_UPSTREAM_TIMEOUT"></label>
<label>Last status <input name="lastStatus" value="${f.lastStatus}" size="4" inputmode="numeric" placeholder="503"></label>
<label>Accepted since (UTC) <input name="since" value="${f.since}" size="14" placeholder="ISO time or 2h"></label>
<label>until (UTC) <input name="until" value="${f.until}" size="14" placeholder="ISO time or 1h"></label>
<input type="hidden" name="limit" value="${limit}">
<button type="submit" class="primary">Filter</button>
<span class="htmx-indicator muted">loading…</span>
</form>`;
}

interface Paging {
  next: string | undefined;
  limit: number;
  after: string | undefined;
  csrf: string;
}

function results(
  filter: ConsoleFilter,
  rows: DeliverySummary[],
  records: DeliveryRecord[],
  total: number,
  paging: Paging,
): SafeHtml {
  const replayable = filter.status === 'dead' || filter.status === 'delivered';
  const link = (extra: Record<string, string | undefined>) =>
    `/console/deliveries${query({ ...filterParams(filter), limit: paging.limit, ...extra })}`;
  const swap = (href: string, label: string) =>
    html`<a href="${href}" hx-get="${href}" hx-target="#results" hx-swap="outerHTML" hx-push-url="true">${label}</a>`;
  const pager = html`<p class="pager">${paging.after ? swap(link({}), '« First page') : ''} ${paging.next ? swap(link({ after: paging.next }), 'Next page »') : ''}</p>`;
  const hidden = Object.entries(filterParams(filter)).map(
    ([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`,
  );
  const table = html`<table id="deliveries">
<thead><tr><th></th><th>Delivery</th><th>Route</th><th>Status</th><th class="num">Attempts</th><th>Last status</th><th>Last error</th><th>Accepted</th><th></th></tr></thead>
<tbody>
${rows.map((row, i) => {
  const canReplay = row.status === 'dead' || row.status === 'delivered';
  const record = records[i]!;
  return html`<tr data-id="${row.id}">
<td>${canReplay ? html`<input type="checkbox" name="id" value="${row.id}" aria-label="select ${row.id}">` : ''}</td>
<td><a href="${`/console/deliveries/${encodeURIComponent(row.id)}`}" class="mono">${row.id}</a></td>
<td>${row.route}</td><td>${statusBadge(row.status)}</td><td class="num">${row.attempts}</td>
<td>${row.lastStatus ?? ''}</td>
<td>${row.lastCode ? html`<code>${row.lastCode}</code><br>` : ''}<span class="muted">${clip(row.lastError ?? '', 160)}</span></td>
<td class="when">${row.createdAt}</td>
<td>${canReplay ? html`<button type="submit" name="only" value="${record.id}">Replay</button>` : ''}</td>
</tr>`;
})}
</tbody>
</table>`;
  const actions = replayable
    ? html`<div class="actions">
<button type="submit" name="scope" value="selected">Replay selected</button>
<button type="submit" name="scope" value="matching" class="primary">Replay all ${total} matching…</button>
</div>`
    : '';
  return html`<section id="results">
<p class="muted" id="total">${total} matching${rows.length > 0 ? html`, showing ${rows.length}` : ''}</p>
${
  rows.length === 0
    ? html`<p class="notice">No deliveries match.</p>`
    : html`<form method="post" action="/console/replay">${csrfField(paging.csrf)}${hidden}${actions}${table}</form>`
}
${pager}
</section>`;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
