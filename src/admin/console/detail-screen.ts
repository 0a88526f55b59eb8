/**
 * One delivery (`/console/deliveries/:id`): its facts, every kept attempt (time, status,
 * duration, error, code), the last response's first bytes, and the stored request as the admin
 * API shows it (`present/view.ts` `detail()`: credential-like headers and query values hidden,
 * then the configuration's secret values), the body as text, its first 64 KiB.
 */
import { attemptView, detail } from '../../present/view.ts';
import { AdminError } from '../http.ts';
import { type Answer, type ConsoleDeps, type ConsoleRequest, redactView } from './context.ts';
import { html } from './html.ts';
import { csrfField, page, statusBadge } from './layout.ts';
import { requireQueue } from './queue.ts';

/** The most of a body a page shows (its length is stated when cut). */
export const BODY_PREVIEW = 64 * 1024;

export async function detailScreen(deps: ConsoleDeps, request: ConsoleRequest, id: string): Promise<Answer> {
  const found = await requireQueue(deps).get(id);
  if (!found) throw new AdminError('HOOKRELAY_ERR_ADMIN_NOT_FOUND', { reason: `no delivery '${id}'` });
  const view = redactView(deps.secrets, {
    delivery: await detail(found.record),
    attempts: found.attempts.map(attemptView),
  });
  const d = view.delivery;
  const notice = request.url.searchParams.get('replayed');
  const canReplay = d.status === 'dead' || d.status === 'delivered';
  const body = d.request.body ?? '';
  const cut = body.length > BODY_PREVIEW;
  const content = html`<h2>Delivery <code>${d.id}</code></h2>
${notice === '1' ? html`<p class="notice good" role="status">replayed 1 delivery: it is pending again and is delivered by the route's worker</p>` : ''}
<dl class="facts" id="facts">
<dt>Status</dt><dd>${statusBadge(d.status)}</dd>
<dt>Route</dt><dd><a href="${`/console/deliveries?route=${encodeURIComponent(d.route)}`}">${d.route}</a></dd>
<dt>Request id</dt><dd><code>${d.requestId}</code></dd>
<dt>Accepted</dt><dd>${d.createdAt}</dd>
<dt>Updated</dt><dd>${d.updatedAt}</dd>
${d.deliveredAt ? html`<dt>Delivered</dt><dd>${d.deliveredAt}</dd>` : ''}
${d.nextAttemptAt ? html`<dt>Next attempt</dt><dd>${d.nextAttemptAt}</dd>` : ''}
<dt>Attempts</dt><dd>${d.attempts}${d.attemptsDropped > 0 ? html` <span class="muted">(${d.attemptsDropped} not kept)</span>` : ''}</dd>
<dt>Replays</dt><dd>${d.replays}${d.replayedAt ? html` <span class="muted">last ${d.replayedAt}</span>` : ''}</dd>
${d.dedupKey ? html`<dt>Dedup key</dt><dd><code>${d.dedupKey}</code></dd>` : ''}
${d.trace ? html`<dt>Trace</dt><dd><code>${d.trace.traceId}</code> <span class="muted">accepting span <code>${d.trace.spanId}</code></span></dd>` : ''}
<dt>Last result</dt><dd>${d.lastStatus ?? ''} ${d.lastCode ? html`<code>${d.lastCode}</code>` : ''} ${d.lastError ?? ''}</dd>
</dl>
${
  canReplay
    ? html`<form method="post" action="/console/replay" class="actions">${csrfField(request.csrf)}<button type="submit" name="only" value="${d.id}" class="primary">Replay</button></form>`
    : ''
}
<h3>Attempts</h3>
<table id="attempts">
<thead><tr><th>Time</th><th>Status</th><th class="num">Duration</th><th>Error</th><th>Code</th><th>Trace</th></tr></thead>
<tbody>
${view.attempts.map(
  (a) =>
    html`<tr><td>${a.at}</td><td>${a.status ?? ''}</td><td class="num">${a.durationMs} ms</td><td>${a.error ?? ''}</td><td>${a.code ? html`<code>${a.code}</code>` : ''}</td><td>${a.traceId ? html`<code>${a.traceId}</code>` : ''}</td></tr>`,
)}
</tbody>
</table>
<h3>Last response</h3>
${d.lastResponse === null ? html`<p class="muted">none</p>` : html`<pre id="response">${d.lastResponse}</pre>`}
<h3>Request</h3>
<p><code>${d.request.method} ${d.request.url}</code></p>
<table id="headers">
<thead><tr><th>Header</th><th>Value</th></tr></thead>
<tbody>
${Object.entries(d.request.headers).map(([name, value]) => html`<tr><td><code>${name}</code></td><td><code>${value}</code></td></tr>`)}
${d.request.configHeaders.map((name) => html`<tr><td><code>${name}</code></td><td class="muted">set from the configuration at each attempt</td></tr>`)}
</tbody>
</table>
<h3>Body <span class="muted">(${d.bodyBytes} bytes${d.request.bodyEncoding === 'base64' ? ', binary: shown as base64' : ''}${cut ? html`, first ${BODY_PREVIEW} characters shown` : ''})</span></h3>
${d.request.body === null ? html`<p class="muted">none</p>` : html`<pre id="body">${cut ? body.slice(0, BODY_PREVIEW) : body}</pre>`}`;
  return {
    status: 200,
    body: page(request, d.status === 'dead' ? 'dead' : 'deliveries', `Delivery ${d.id}`, content),
  };
}
