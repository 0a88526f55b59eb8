/** Human-friendly durations and sizes used throughout the config file. */

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
// Binary multiples only: operators think of body limits in KiB/MiB, and one base avoids surprises.
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};
const QUANTITY = /^(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)$/;

const durationError = (input: unknown) =>
  new Error(
    `invalid duration '${String(input)}', expected a number of milliseconds or e.g. 500ms, 10s, 5m, 1h, 7d`,
  );
const sizeError = (input: unknown) =>
  new Error(`invalid size '${String(input)}', expected a number of bytes or e.g. 512b, 64kb, 1mb`);

/** Splits `1.5mb` into amount and multiplier; undefined when malformed or the unit is unknown. */
function quantity(input: string, units: Record<string, number>, bare: string) {
  const match = QUANTITY.exec(input.trim().toLowerCase());
  if (!match) return undefined;
  const unit = match[2] || bare;
  if (!Object.hasOwn(units, unit)) return undefined;
  return { amount: Number(match[1]), multiplier: units[unit], fractional: match[1].includes('.') };
}

/** Milliseconds from a number of ms or a string like `500ms`, `10s`, `1.5m`, `1h`, `250`. */
export function parseDuration(input: string | number): number {
  let ms: number;
  if (typeof input === 'number') {
    ms = input;
  } else {
    const q = quantity(input, DURATION_UNITS, 'ms');
    if (!q) throw durationError(input);
    ms = q.amount * q.multiplier;
  }
  if (!Number.isFinite(ms) || ms < 0) throw durationError(input);
  const rounded = Math.round(ms);
  // Beyond this, timer arithmetic silently loses precision.
  if (!Number.isSafeInteger(rounded)) throw durationError(input);
  return rounded;
}

/** Bytes from a number of bytes or a string like `512b`, `64kb`, `1.5mb`, `1gib`, `1024`. */
export function parseSize(input: string | number): number {
  let bytes: number;
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input) || input < 0) throw sizeError(input);
    bytes = input;
  } else {
    const q = quantity(input, SIZE_UNITS, 'b');
    // A fraction of a byte is meaningless, so `1.5` and `1.5b` are rejected rather than floored.
    if (!q || (q.fractional && q.multiplier === 1)) throw sizeError(input);
    bytes = Math.floor(q.amount * q.multiplier);
  }
  if (!Number.isSafeInteger(bytes)) throw sizeError(input);
  return bytes;
}

/** Largest unit that represents `value` exactly, so the output parses back to the same number. */
function formatExact(value: number, units: [string, number][], what: string): string {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`cannot format ${what} ${value}`);
  const fallback = units[units.length - 1];
  const [unit, size] = value === 0 ? fallback : (units.find(([, n]) => value % n === 0) ?? fallback);
  return `${value / size}${unit}`;
}

/** `30000` → `30s`, `1500` → `1500ms`, `300000` → `5m`. */
export function formatDuration(ms: number): string {
  return formatExact(
    ms,
    [
      ['d', 86_400_000],
      ['h', 3_600_000],
      ['m', 60_000],
      ['s', 1000],
      ['ms', 1],
    ],
    'duration',
  );
}

/** `1048576` → `1mb`, `65536` → `64kb`, `1000` → `1000b`. */
export function formatSize(bytes: number): string {
  return formatExact(
    bytes,
    [
      ['gb', 1024 ** 3],
      ['mb', 1024 ** 2],
      ['kb', 1024],
      ['b', 1],
    ],
    'size',
  );
}
