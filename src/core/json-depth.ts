/**
 * Nesting depth of JSON text, checked before JSON.parse. V8 parses arbitrarily deep JSON without
 * trouble, but what comes after does not: JSON.stringify, structuredClone, jsonata and the
 * recursive walks of the steps overflow the stack on a body of a few hundred kilobytes of `[`
 * (a 500 instead of a clear refusal). One linear pass, no recursion.
 */

/** Used when no route limit is at hand (`limits.jsonDepth` defaults to the same). */
export const DEFAULT_JSON_DEPTH = 64;

/**
 * The offset of the first `{` or `[` that opens a level deeper than `max`, or -1 when the text
 * stays within it. Brackets inside strings do not count; malformed text is left to JSON.parse.
 */
export function jsonDepthExceeded(text: string, max: number): number {
  // Each level needs at least two characters: a shorter text cannot be too deep.
  if (text.length <= 2 * max) return -1;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > max) return i;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
  return -1;
}
