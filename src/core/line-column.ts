/**
 * Where an offset in a text is, as the 1-based line and column editors and `file:line:column`
 * links expect: for parse errors in bodies (JSON, XML), in JSONata expressions, in the config
 * file, and in `hookrelay test` diffs. `\r\n`, a lone `\r` and `\n` each end one line (XML 1.0
 * §2.11, YAML 1.2 §5.4; what editors show), so a body from a Windows or classic-Mac sender is
 * located like any other. Columns count UTF-16 code units, as the offsets do.
 */

export interface LineColumn {
  line: number;
  column: number;
}

function endsLine(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10);
}

/** One position, scanning the text up to `offset` only (error paths in large bodies). */
export function lineColumn(text: string, offset: number): LineColumn {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (endsLine(text, i)) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** The offset each line starts at, for locating many offsets in one text (`positionAt`). */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (endsLine(text, i)) starts.push(i + 1);
  return starts;
}

/** The position of `offset` given the text's `lineStarts` (a binary search); never before a line's start. */
export function positionAt(starts: readonly number[], offset: number): LineColumn {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (starts[mid]! <= offset) low = mid;
    else high = mid - 1;
  }
  return { line: low + 1, column: Math.max(offset - starts[low]!, 0) + 1 };
}
