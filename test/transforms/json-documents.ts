import fc from 'fast-check';

/**
 * Random JSON documents as text, full of numbers a double cannot hold as written: long integers,
 * long or zero-padded decimals, exponents, -0, beyond the range of a double. Written without
 * whitespace and with keys JSON.stringify keeps in order (no array indices), so a value parsed
 * with every number kept is written back as the same text. Shared by the number properties.
 */

export type Node =
  | { kind: 'leaf'; text: string }
  | { kind: 'array'; items: Node[] }
  | { kind: 'object'; entries: [string, Node][] };

const digits = (minLength: number, maxLength: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789'), minLength, maxLength });
const integer = fc.oneof(
  fc.constant('0'),
  fc.tuple(fc.constantFrom(...'123456789'), digits(0, 30)).map(([first, rest]) => first + rest),
);
const exponent = fc
  .tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), digits(1, 3))
  .map((parts) => parts.join(''));
export const numberText = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.boolean(),
        integer,
        fc.option(digits(1, 25), { nil: undefined }),
        fc.option(exponent, { nil: undefined }),
      )
      .map(
        ([negative, int, fraction, exp]) =>
          `${negative ? '-' : ''}${int}${fraction === undefined ? '' : `.${fraction}`}${exp ?? ''}`,
      ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '5738291046618274931',
      '12345678901234567890',
      '0.1000000000000000055511151231257827',
      '10.50',
      '1e400',
      '-1e400',
      '1e-400',
      '-0',
      '-0.0',
      '42',
      '0.30000000000000004',
    ),
  },
);
const scalarText = fc.oneof(
  { weight: 6, arbitrary: numberText },
  { weight: 1, arbitrary: fc.constantFrom('true', 'false', 'null') },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }).map((s) => JSON.stringify(s)) },
);
// Keys JSON.stringify writes back in insertion order (no array indices), some needing quotes.
const key = fc.oneof(
  fc.constantFrom('id', 'total', 'items', 'a.b', 'x y', 'ünï', '$ref', '#text', '@id', '__proto__'),
  fc.string({ unit: fc.constantFrom(...'abcxyz_-'), minLength: 1, maxLength: 5 }),
);
const { node } = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalarText.map((text): Node => ({ kind: 'leaf', text })),
    fc.array(tie('node'), { maxLength: 4 }).map((items): Node => ({ kind: 'array', items })),
    fc
      .uniqueArray(fc.tuple(key, tie('node')), { selector: ([k]) => k, maxLength: 4 })
      .map((entries): Node => ({ kind: 'object', entries })),
  ),
}));
/** A root object with at least one field (`fields` and `keep` build objects). */
export const document = fc
  .uniqueArray(fc.tuple(key, node), { selector: ([k]) => k, minLength: 1, maxLength: 5 })
  .map((entries): Node => ({ kind: 'object', entries }));

export function text(n: Node): string {
  if (n.kind === 'leaf') return n.text;
  if (n.kind === 'array') return `[${n.items.map(text).join(',')}]`;
  return `{${n.entries.map(([k, v]) => `${JSON.stringify(k)}:${text(v)}`).join(',')}}`;
}

/** Every leaf (scalars and empty containers) with its path, written `["k"][0]`, in document order. */
export function leaves(n: Node, path = ''): string[] {
  if (n.kind === 'leaf') return [path];
  const children: [string, Node][] =
    n.kind === 'array'
      ? n.items.map((item, i) => [`[${i}]`, item])
      : n.entries.map(([k, v]) => [`[${JSON.stringify(k)}]`, v]);
  if (children.length === 0) return [path];
  return children.flatMap(([step, child]) => leaves(child, path + step));
}
