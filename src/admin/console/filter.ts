/**
 * The deliveries filter of the console, read from a query string or a form (the same names
 * either way, so a filtered page is a plain link): `route`, `status`, `code` (the last attempt's
 * error code), `since` and `until` (when the webhook was accepted, ISO 8601 or the browser's
 * `datetime-local` value, read as UTC), `after` (the page cursor) and `limit`.
 */
import { isStatus, STATUSES } from '../../present/view.ts';
import type { DeliveryFilter, DeliveryStatus } from '../../queue/types.ts';
import { badRequest } from '../http.ts';

export const PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

export interface ConsoleFilter extends DeliveryFilter {
  /** The text of the fields as given, to fill the form and build links. */
  form: { route: string; status: string; code: string; since: string; until: string };
}

export function readFilter(params: URLSearchParams): ConsoleFilter {
  const text = (name: string) => (params.get(name) ?? '').trim().slice(0, 200);
  const form = {
    route: text('route'),
    status: text('status'),
    code: text('code'),
    since: text('since'),
    until: text('until'),
  };
  if (form.status !== '' && !isStatus(form.status))
    throw badRequest(`status must be one of ${STATUSES.join(', ')}`);
  return {
    form,
    routeId: form.route || undefined,
    status: (form.status || undefined) as DeliveryStatus | undefined,
    code: form.code || undefined,
    since: instant(form.since, 'since'),
    until: instant(form.until, 'until'),
  };
}

/** `2026-12-03T17:14`, `2026-12-03T17:14:05Z`, `2026-12-03`: a time as ms since epoch (UTC when no zone). */
export function instant(value: string, name: string): number | undefined {
  if (value === '') return undefined;
  const zoned = /(Z|[+-]\d{2}:\d{2})$/i.test(value) || !value.includes('T') ? value : `${value}Z`;
  const ms = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(zoned) : Number.NaN;
  if (!Number.isFinite(ms))
    throw badRequest(`${name} must be a date and time such as 2026-12-03T17:00 (UTC)`);
  return ms;
}

export function pageSize(params: URLSearchParams): number {
  const given = params.get('limit');
  if (given === null || given === '') return PAGE_SIZE;
  const n = Number(given);
  if (!/^\d+$/.test(given) || n < 1) throw badRequest(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  return Math.min(n, MAX_PAGE_SIZE);
}

/** The filter as link parameters (and hidden form fields). */
export function filterParams(filter: ConsoleFilter): Record<string, string> {
  return { ...filter.form };
}

/** The filter without the form's text: what the driver takes. */
export function driverFilter(filter: ConsoleFilter): DeliveryFilter {
  const { form: _form, ...rest } = filter;
  return rest;
}
