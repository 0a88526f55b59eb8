import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLocator } from '../../src/config/locate.ts';
import { lineColumn, lineStarts, positionAt } from '../../src/core/line-column.ts';
import { parseJson } from '../../src/transforms/payload.ts';

/** One way to say where an offset is: 1-based line and column, `\r\n`, `\r` and `\n` ending lines. */

describe('lineColumn', () => {
  it.each([
    ['', 0, 1, 1],
    ['abc', 0, 1, 1],
    ['abc', 2, 1, 3],
    ['ab\ncd', 3, 2, 1],
    ['ab\ncd', 4, 2, 2],
    ['ab\r\ncd', 4, 2, 1],
    ['ab\r\ncd', 3, 1, 4], // between \r and \n: still the first line
    ['ab\rcd', 3, 2, 1], // a lone \r (classic Mac) ends a line
    ['a\n\nb', 3, 3, 1],
    ['ab', 5, 1, 6], // past the end: the last line, counted on
  ])('%j at %i is line %i, column %i', (text, offset, line, column) => {
    expect(lineColumn(text, offset)).toEqual({ line, column });
  });

  it('property: the scan and the line-start search agree on every offset', () => {
    const text = fc
      .array(fc.constantFrom('a', 'b', '\n', '\r', '\r\n', ' ', 'é'), { maxLength: 40 })
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(text, (t) => {
        const starts = lineStarts(t);
        for (let offset = 0; offset <= t.length; offset++) {
          expect(positionAt(starts, offset)).toEqual(lineColumn(t, offset));
        }
      }),
    );
  });

  it('property: line is one more than the line ends before the offset', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), fc.nat(60), (t, at) => {
        const offset = Math.min(at, t.length);
        const ends = t
          .slice(0, offset)
          .replace(/\r\n/g, '\n')
          .split(/[\r\n]/).length;
        // A \r just before the offset whose \n comes after it is not an end yet.
        const pending = t[offset - 1] === '\r' && t[offset] === '\n' ? 1 : 0;
        expect(lineColumn(t, offset).line).toBe(ends - pending);
      }),
    );
  });
});

describe('every site locates the same way', () => {
  it('a JSON body with \\r\\n or lone \\r line ends: the error is on the line an editor shows', () => {
    for (const end of ['\n', '\r\n', '\r']) {
      const text = ['{', '  "a": 1,', '  "b": 1 2', '}'].join(end);
      expect(() => parseJson(Buffer.from(text), 'json')).toThrow(/at line 3, column 10$/);
    }
  });

  it('the config file with a lone \\r and a BOM: lines as YAML counts them', () => {
    const locate = createLocator('\uFEFFserver:\r  port: 1\rroutes: []\r');
    expect(locate(['routes'])).toEqual({ line: 3, column: 1 });
    expect(locate(['server', 'port'])).toEqual({ line: 2, column: 3 });
  });
});
