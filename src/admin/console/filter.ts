/**
 * The deliveries filter of the console, read from a query string or a form (the same names
 * either way, so a filtered page is a plain link): `route`, `status`, `code` (the last attempt's
 * error code), `lastStatus` (its HTTP status), `since` and `until` (when the webhook was
 * accepted: ISO 8601 or the browser's `datetime-local` value, read as UTC, or an age such as
 * `2h`, as the CLI takes them), `after` (the page cursor) and `limit`. Empty fields are no filter.
 */
import type { DeliveryFilter } from '../../queue/types.ts';
import { readFilter as readApiFilter } from '../filter.ts';
import { badRequest } from '../http.ts';

export const PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

export interface ConsoleFilter extends DeliveryFilter {
  /** The text of the fields as given, to fill the form and build links. */
  form: { route: string; status: string; code: string; lastStatus: string; since: string; until: string };
}

export function readFilter(params: URLSearchParams, now: number): ConsoleFilter {
  const text = (name: string) => (params.get(name) ?? '').trim().slice(0, 200);
  const form = {
    route: text('route'),
    status: text('status'),
    code: text('code'),
    lastStatus: text('lastStatus'),
    since: text('since'),
    until: text('until'),
  };
  // The API's reading of the same names; an empty field is no filter.
  const get = (name: string) => form[name as keyof typeof form] || undefined;
  return { form, ...readApiFilter(get, now, { age: true }) };
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
