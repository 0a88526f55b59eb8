/**
 * HTML that is safe by construction. Everything the console shows may come from a webhook's
 * sender (bodies, headers, error texts, route ids chosen by an operator), so a page is built only
 * with the `html` tagged template: each interpolated value is escaped, unless it is a fragment the
 * template itself produced (`SafeHtml`). There is no other way to make a SafeHtml from text, so a
 * value cannot be put in a page unescaped by mistake. Attributes are always written quoted in the
 * templates (`href="${url}"`), and the escaping covers both quote characters.
 */

/** Proves a SafeHtml was made here: the module does not export it. */
const BUILT = Symbol('built by html');

/** A fragment of markup built by `html`: inserted as is into an enclosing template. */
export class SafeHtml {
  readonly #text: string;
  constructor(proof: typeof BUILT, text: string) {
    if (proof !== BUILT) throw new TypeError('a SafeHtml is built only by the html template');
    this.#text = text;
  }
  toString(): string {
    return this.#text;
  }
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Text as HTML character data or a quoted attribute value: `& < > " ' \`` become entities. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ENTITIES[c]!);
}

/** What an interpolated value becomes: fragments as they are, lists joined, nothing for null, undefined and false. */
function render(value: unknown): string {
  if (value instanceof SafeHtml) return value.toString();
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeHtml(String(value));
}

/** The tagged template: `html\`<td>${text}</td>\`` escapes `text` unless it is a SafeHtml. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new SafeHtml(BUILT, out);
}

/** A query string for a link (`?a=1&b=2`) from the parameters given, empty ones left out. */
export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
