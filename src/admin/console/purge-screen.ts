/**
 * Purge of finished deliveries (`/console/purge`): delivered or dead ones of a route, or of all,
 * last updated longer ago than an age (`7d`, `12h`). The form posts to a confirm step that shows
 * how many would go, with the cutoff pinned to the moment shown; only the second POST deletes.
 * Pending and in-flight deliveries were acknowledged to their callers and are never purged.
 */
import { parseAge } from '../../present/view.ts';
import type { DeliveryStatus, QueueDriver } from '../../queue/types.ts';
import { badRequest } from '../http.ts';
import type { Answer, ConsoleDeps, ConsoleRequest } from './context.ts';
import { html } from './html.ts';
import { csrfField, page } from './layout.ts';
import { counted, requireQueue } from './queue.ts';
import { notice } from './replay-action.ts';

/** Counting pages through the matches stops here; the confirm step then says "more than". */
const COUNT_PAGES = 100;
const COUNT_PAGE = 1000;

export function purgeForm(request: ConsoleRequest): Answer {
  const body = html`<h2>Purge finished deliveries</h2>
<p class="muted">Deletes delivered or dead deliveries last updated longer ago than the age given. Pending and in-flight ones are never purged. The next step shows how many and asks before it deletes.</p>
<form class="filters" method="post" action="/console/purge">
${csrfField(request.csrf)}
<label>Status <select name="status"><option value="delivered">delivered</option><option value="dead">dead</option></select></label>
<label>Route (empty: all) <input name="route" size="16"></label>
<label>Older than <input name="olderThan" value="7d" size="8" required></label>
<button type="submit" class="primary">Count…</button>
</form>`;
  return { status: 200, body: page(request, 'purge', 'Purge', body) };
}

export async function purgeAction(deps: ConsoleDeps, request: ConsoleRequest): Promise<Answer> {
  const { form } = request;
  const status = form.get('status') ?? '';
  if (status !== 'delivered' && status !== 'dead') throw badRequest('status must be delivered or dead');
  const route = (form.get('route') ?? '').trim() || undefined;
  const olderThan = (form.get('olderThan') ?? '').trim();
  const driver = requireQueue(deps);
  if (form.get('confirm') !== 'yes') {
    let age: number;
    try {
      age = parseAge(olderThan);
    } catch (error) {
      throw badRequest(`olderThan: ${(error as Error).message}`);
    }
    const before = deps.now() - age;
    const { count, more } = await countOlder(driver, status, route, before);
    const shown = more ? `more than ${count}` : String(count);
    const body = html`<h2>Purge ${shown} ${count === 1 && !more ? 'delivery' : 'deliveries'}?</h2>
<div class="notice bad" id="confirm" role="alertdialog"><p>${shown} ${status} deliveries${route ? html` of route <code>${route}</code>` : ''} last updated before ${new Date(before).toISOString()} will be deleted. This cannot be undone.</p></div>
<form method="post" action="/console/purge" class="actions">
${csrfField(request.csrf)}
<input type="hidden" name="status" value="${status}">
<input type="hidden" name="route" value="${route ?? ''}">
<input type="hidden" name="olderThan" value="${olderThan}">
<input type="hidden" name="before" value="${before}">
<button type="submit" name="confirm" value="yes" class="danger">Purge ${shown} ${count === 1 && !more ? 'delivery' : 'deliveries'}</button>
<a href="/console/purge">Cancel</a>
</form>`;
    return { status: 200, body: page(request, 'purge', 'Confirm purge', body) };
  }
  const before = Number(form.get('before'));
  if (!Number.isSafeInteger(before)) throw badRequest('the confirm step is incomplete: start again');
  const purged = await driver.purge({ status, routeId: route, olderThan: before });
  return notice(request, 'Purged', counted('purged', purged), '/console/purge');
}

/** How many a purge would delete: the driver counts by creation time, a purge goes by last update, so this pages through the list. */
async function countOlder(
  driver: QueueDriver,
  status: DeliveryStatus,
  routeId: string | undefined,
  olderThan: number,
): Promise<{ count: number; more: boolean }> {
  let count = 0;
  let after: string | undefined;
  for (let i = 0; i < COUNT_PAGES; i++) {
    const page = await driver.list({ status, routeId, olderThan, limit: COUNT_PAGE, after });
    count += page.length;
    if (page.length < COUNT_PAGE) return { count, more: false };
    after = page[page.length - 1]!.id;
  }
  return { count, more: true };
}
