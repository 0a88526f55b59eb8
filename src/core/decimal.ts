/**
 * Decimal number text handled as text: whether two numbers have the same exact value, whether a
 * number is an integer, and a loose decimal (`0042`, `+7`, `.5`, `12.`) written as a JSON number.
 * No double is involved, so 5738291046618274931 and 5738291046618274932 stay two numbers.
 */

/** `-12.5e3` → sign, significant digits without leading or trailing zeros, power of ten. */
export interface Decimal {
  negative: boolean;
  /** Empty for zero. */
  digits: string;
  /** The value is `digits × 10^exponent`. */
  exponent: number;
}

const LOOSE = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
/** RFC 8259 §6. */
export const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** A decimal in JSON or looser notation (a sign, leading zeros, `.5`, `5.`); undefined otherwise. */
export function parseDecimal(text: string): Decimal | undefined {
  const m = LOOSE.exec(text);
  if (!m) return undefined;
  const [, sign, int = '', fraction = '', exp] = m;
  if (int === '' && fraction === '') return undefined;
  let digits = int + fraction;
  let exponent = (exp === undefined ? 0 : Number(exp)) - fraction.length;
  let start = 0;
  while (start < digits.length && digits.charCodeAt(start) === 0x30) start++;
  let end = digits.length;
  while (end > start && digits.charCodeAt(end - 1) === 0x30) end--;
  exponent += digits.length - end;
  digits = digits.slice(start, end);
  return { negative: sign === '-' && digits !== '', digits, exponent: digits === '' ? 0 : exponent };
}

/** One text per exact value: `10.50`, `10.5` and `1.05e1` give the same key. */
export function decimalKey(text: string): string | undefined {
  const d = parseDecimal(text);
  if (!d) return undefined;
  return d.digits === '' ? '0' : `${d.negative ? '-' : ''}${d.digits}e${d.exponent}`;
}

export function isIntegral(d: Decimal): boolean {
  return d.exponent >= 0;
}

/**
 * The integer's digits, without exponent: `1e5` → `100000`, `-0042` → `-42`, `-0` → `0`.
 * The caller bounds the exponent (a number within the range of a double has at most 309 digits).
 */
export function integerText(d: Decimal): string {
  if (d.digits === '') return '0';
  return `${d.negative ? '-' : ''}${d.digits}${'0'.repeat(d.exponent)}`;
}

/**
 * A loose decimal as JSON number text with the same digits: the `+` and leading zeros dropped,
 * `.5` → `0.5`, `12.` → `12`; `10.50` and `1E5` stay as written. Undefined when it is not a decimal.
 */
export function jsonNumberText(text: string): string | undefined {
  const m = LOOSE.exec(text);
  if (!m) return undefined;
  const [, sign, int = '', fraction = '', exp] = m;
  if (int === '' && fraction === '') return undefined;
  const whole = int.replace(/^0+(?=\d)/, '') || '0';
  return `${sign === '-' ? '-' : ''}${whole}${fraction === '' ? '' : `.${fraction}`}${exp === undefined ? '' : text.slice(text.search(/[eE]/))}`;
}
