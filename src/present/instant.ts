/**
 * The times an operator gives to filter deliveries by when they were accepted (`since`, `until`),
 * read the same by the admin API and the CLI: ISO 8601 (a date, or a date and time; without an
 * offset it is UTC, so the answer does not depend on the host's time zone), milliseconds since
 * the epoch, and for the CLI an age counted back from now (`2h`, `30m`, `7d`, as `--older-than`).
 */
import { parseAge } from './view.ts';

const ISO = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** Which forms `parseInstant` accepts besides ISO 8601. */
export interface InstantForms {
  /** Milliseconds since the epoch (a number, or a string of digits). */
  ms?: boolean;
  /** An age such as `2h` or `7d`: that long before `now`. */
  age?: boolean;
}

/** The instant `input` names, in ms since the epoch; throws an Error naming `field` when it is none. */
export function parseInstant(input: unknown, field: string, now: number, forms: InstantForms): number {
  const expected = [
    'an ISO 8601 time (e.g. 2026-12-03T14:00:00Z)',
    ...(forms.ms ? ['milliseconds since the epoch'] : []),
    ...(forms.age ? ['an age such as 2h or 7d'] : []),
  ].join(' or ');
  const refuse = () => new Error(`${field} must be ${expected}, got ${JSON.stringify(input)}`);
  if (typeof input === 'number') {
    if (forms.ms && Number.isSafeInteger(input) && input >= 0) return input;
    throw refuse();
  }
  if (typeof input !== 'string') throw refuse();
  const text = input.trim();
  if (forms.ms && /^\d{1,16}$/.test(text)) return Number(text);
  const iso = ISO.exec(text);
  if (iso) {
    const [, date, time, offset] = iso;
    const at = Date.parse(time === undefined ? `${date}T00:00:00Z` : `${date}T${time}${offset ?? 'Z'}`);
    if (Number.isFinite(at)) return at;
    throw refuse();
  }
  // A unit is required: a bare number is not taken for an age in milliseconds.
  if (forms.age && /^\d+(?:\.\d+)?\s*[a-z]+$/i.test(text)) {
    try {
      return now - parseAge(text);
    } catch {
      throw refuse();
    }
  }
  throw refuse();
}
