/**
 * Values that must never be shown, and how they are found in what is shown: each occurrence, as
 * written or percent-encoded, form-encoded, JSON- or XML-escaped, becomes `<redacted>`. Which
 * values those are is the configuration's business (config/secret-provenance.ts); this is only the
 * text work, so every layer that shows something can use it.
 */
export const REDACTED = '<redacted>';

/** Shorter values are not searched for: a 2-character "secret" would blank out half the output. */
export const MIN_SECRET_LENGTH = 4;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const XML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/** How a value may appear in a URL, a form, a JSON or an XML body. */
function forms(value: string): string[] {
  const out = new Set([value]);
  out.add(encodeURIComponent(value));
  out.add(new URLSearchParams([['', value]]).toString().slice(1));
  // As a server reads it when the value was written into a URL as is (`+` is a space there).
  out.add(new URLSearchParams(`k=${value.replaceAll('&', '%26').replaceAll('#', '%23')}`).get('k') ?? value);
  out.add(JSON.stringify(value).slice(1, -1));
  out.add(value.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!));
  return [...out];
}

export class SecretValues {
  static readonly none = new SecretValues([]);
  #pattern: RegExp | undefined;
  #values: Set<string>;
  size: number;

  constructor(values: Iterable<string>) {
    this.#values = new Set();
    this.size = 0;
    this.#set(values);
  }

  #set(values: Iterable<string>): void {
    const unique = new Set(this.#values);
    for (const value of values) if (value.length >= MIN_SECRET_LENGTH) unique.add(value);
    this.#values = unique;
    this.size = unique.size;
    const needles = [...new Set([...unique].flatMap(forms))].sort((a, b) => b.length - a.length);
    this.#pattern = needles.length ? new RegExp(needles.map(escapeRegExp).join('|'), 'g') : undefined;
  }

  /**
   * A copy that can learn more values: the running relay's, which learns each reloaded
   * configuration's secrets and keeps the old ones (a rotated-out secret is no less secret).
   */
  growable(): SecretValues {
    return new SecretValues(this.#values);
  }

  /** Adds the values of `other` (see growable); never on `SecretValues.none`. */
  absorb(other: SecretValues): void {
    if (this === SecretValues.none) throw new Error('SecretValues.none is immutable');
    this.#set(other.#values);
  }

  /** The text with every occurrence of a secret value replaced by `<redacted>`. */
  redact(text: string): string {
    if (!this.#pattern) return text;
    return text.replace(this.#pattern, REDACTED);
  }

  contains(text: string): boolean {
    if (!this.#pattern) return false;
    this.#pattern.lastIndex = 0;
    return this.#pattern.test(text);
  }

  /** A header map (or any string map) with each value redacted. */
  redactAll(values: Readonly<Record<string, string>>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const name of Object.keys(values)) out[name] = this.redact(values[name]!);
    return out;
  }
}
