/**
 * The admin API's delivery filter (DeliveryFilter), read from a query string (`GET /deliveries`,
 * `GET /deliveries/count`) or a JSON body (`POST /deliveries/replay`): `route`, `status`, `code`,
 * `lastStatus`, `since` and `until` (ISO 8601 or ms since the epoch). A value that is not one of
 * those is a 400 naming the field; which fields a call accepts is the caller's check.
 */
import { type InstantForms, parseInstant } from '../present/instant.ts';
import { isStatus, STATUSES } from '../present/view.ts';
import type { DeliveryFilter } from '../queue/types.ts';
import { badRequest } from './http.ts';

/** The filter's names, as the API spells them. */
export const FILTER_FIELDS = ['route', 'status', 'code', 'lastStatus', 'since', 'until'] as const;

/**
 * The filter from a field getter: `get(name)` is a query parameter (a string or undefined) or a
 * body field (any JSON value). `times`: the forms `since` and `until` take (the API's: ISO 8601 or
 * ms; the console's: ISO 8601 or an age, as the CLI).
 */
export function readFilter(
  get: (name: string) => unknown,
  now: number,
  times: InstantForms = { ms: true },
): DeliveryFilter {
  const filter: DeliveryFilter = {};
  const route = get('route');
  if (route !== undefined) filter.routeId = nonEmpty(route, 'route');
  const status = get('status');
  if (status !== undefined) {
    if (!isStatus(status)) throw badRequest(`status must be one of ${STATUSES.join(', ')}`);
    filter.status = status;
  }
  const code = get('code');
  if (code !== undefined) filter.code = nonEmpty(code, 'code');
  const lastStatus = get('lastStatus');
  if (lastStatus !== undefined) {
    const n = typeof lastStatus === 'string' && /^\d{3}$/.test(lastStatus) ? Number(lastStatus) : lastStatus;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 100 || n > 599)
      throw badRequest(
        `lastStatus must be an HTTP status from 100 to 599, got ${JSON.stringify(lastStatus)}`,
      );
    filter.lastStatus = n;
  }
  for (const field of ['since', 'until'] as const) {
    const value = get(field);
    if (value === undefined) continue;
    try {
      filter[field] = parseInstant(value, field, now, times);
    } catch (error) {
      throw badRequest((error as Error).message);
    }
  }
  return filter;
}

function nonEmpty(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw badRequest(`\`${name}\` must be a non-empty string`);
  return value;
}
