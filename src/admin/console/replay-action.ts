/**
 * `POST /console/replay`: one delivery (`only=<id>`, at once, then its page), the ticked ones
 * (`scope=selected`, `id=…`) or every match of the filter (`scope=matching`). Replaying more
 * than one asks first: the server renders a confirm step with the count, and only a second POST
 * with `confirm=yes` acts. The step pins what was counted: the ids, or the filter with `until`
 * no later than the moment shown and at most the count shown (`limit`).
 */
import type { ReplayFilter } from '../../queue/types.ts';
import { AdminError, badRequest } from '../http.ts';
import type { Answer, ConsoleDeps, ConsoleRequest } from './context.ts';
import { driverFilter, filterParams, readFilter } from './filter.ts';
import { html, query, type SafeHtml } from './html.ts';
import { csrfField, page } from './layout.ts';
import { counted, requireQueue } from './queue.ts';

const MAX_IDS = 1000;

export async function replayAction(deps: ConsoleDeps, request: ConsoleRequest): Promise<Answer> {
  const { form } = request;
  const driver = requireQueue(deps);
  const only = form.get('only');
  if (only) {
    const found = await driver.get(only);
    if (!found) throw new AdminError('HOOKRELAY_ERR_ADMIN_NOT_FOUND', { reason: `no delivery '${only}'` });
    const replayed = await driver.replay({ ids: [only] }, deps.now());
    if (replayed > 0) deps.onReplay([found.record.routeId]);
    return {
      redirect: `/console/deliveries/${encodeURIComponent(only)}${replayed > 0 ? '?replayed=1' : ''}`,
    };
  }
  const scope = form.get('scope');
  const filter = readFilter(form, deps.now());
  const back = `/console/deliveries${query(filterParams(filter))}`;
  const confirmed = form.get('confirm') === 'yes';
  if (scope === 'selected') {
    const ids = [...new Set(form.getAll('id'))];
    if (ids.length === 0)
      return notice(request, 'Nothing replayed', 'select at least one delivery', back, 400);
    if (ids.length > MAX_IDS) throw badRequest(`at most ${MAX_IDS} deliveries at once`);
    const records = (await Promise.all(ids.map((id) => driver.get(id)))).flatMap((f) =>
      f ? [f.record] : [],
    );
    const replayable = records.filter((r) => r.status === 'dead' || r.status === 'delivered');
    if (replayable.length > 1 && !confirmed) {
      const fields = html`${ids.map((id) => html`<input type="hidden" name="id" value="${id}">`)}`;
      return confirm(request, 'selected', replayable.length, fields, filter, back);
    }
    const replayed = await driver.replay({ ids: replayable.map((r) => r.id) }, deps.now());
    if (replayed > 0) deps.onReplay([...new Set(replayable.map((r) => r.routeId))]);
    return notice(request, 'Replayed', counted('replayed', replayed), back);
  }
  if (scope !== 'matching') throw badRequest('scope must be selected or matching');
  const status = filter.status;
  if (status !== 'dead' && status !== 'delivered')
    throw badRequest('replaying every match needs status dead or delivered');
  const now = deps.now();
  if (!confirmed) {
    // What is counted now is what the second step may replay: accepted before this moment, at most this many.
    const until = Math.min(filter.until ?? now, now);
    const total = await driver.count({ ...driverFilter(filter), until });
    const fields = html`<input type="hidden" name="pinnedUntil" value="${until}"><input type="hidden" name="limit" value="${total}">`;
    return confirm(request, 'matching', total, fields, filter, back);
  }
  const pinned = Number(form.get('pinnedUntil'));
  const limit = Number(form.get('limit'));
  if (!Number.isSafeInteger(pinned) || !Number.isSafeInteger(limit) || limit < 0)
    throw badRequest('the confirm step is incomplete: start again from the list');
  const selector: ReplayFilter = { ...driverFilter(filter), status, until: pinned, limit };
  const replayed = limit === 0 ? 0 : await driver.replay(selector, now);
  if (replayed > 0)
    deps.onReplay(filter.routeId ? [filter.routeId] : Object.keys((await driver.stats()).byRoute));
  return notice(request, 'Replayed', counted('replayed', replayed), back);
}

function confirm(
  request: ConsoleRequest,
  scope: 'selected' | 'matching',
  count: number,
  fields: SafeHtml,
  filter: ReturnType<typeof readFilter>,
  back: string,
): Answer {
  const f = filterParams(filter);
  const described = Object.entries(f)
    .filter(([, value]) => value !== '')
    .map(([name, value]) => html`<dt>${name}</dt><dd><code>${value}</code></dd>`);
  const body = html`<h2>Replay ${count} ${count === 1 ? 'delivery' : 'deliveries'}?</h2>
<div class="notice" id="confirm" role="alertdialog">
<p>${scope === 'selected' ? `The ${count} selected deliveries` : `The ${count} ${count === 1 ? 'delivery' : 'deliveries'} matching the filter below`} will be made pending again, their attempts reset, and sent to their targets again.</p>
${described.length > 0 ? html`<dl class="facts">${described}</dl>` : ''}
</div>
<form method="post" action="/console/replay" class="actions">
${csrfField(request.csrf)}
${Object.entries(f).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)}
<input type="hidden" name="scope" value="${scope}">
${fields}
<button type="submit" name="confirm" value="yes" class="danger">Replay ${count} ${count === 1 ? 'delivery' : 'deliveries'}</button>
<a href="${back}">Cancel</a>
</form>`;
  return { status: 200, body: page(request, 'dead', 'Confirm replay', body) };
}

export function notice(
  request: ConsoleRequest,
  title: string,
  text: string,
  back: string,
  status = 200,
): Answer {
  const body = html`<h2>${title}</h2>
<p class="notice ${status < 400 ? 'good' : 'bad'}" id="result" role="status">${text}</p>
<p><a href="${back}">Back to the list</a></p>`;
  return { status, body: page(request, 'dead', title, body) };
}
