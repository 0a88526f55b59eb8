import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { HookrelayError } from '../../src/core/errors.ts';
import { ParsePool } from '../../src/parsing/pool.ts';
import { transformRegistry, transformSchema } from '../../src/transforms/index.ts';
import type { Payload, TransformContext, TransformStep } from '../../src/transforms/types.ts';
import type { XmlConfig } from '../../src/transforms/xml.ts';
import { isXmlText } from '../../src/transforms/xml-safety.ts';

/**
 * Untrusted XML: whatever the bytes, the `xml` step either yields a JSON value or refuses the
 * request with a HookrelayError of status 400, 413, 415 or 422; it never throws anything else
 * (which would be a 500) and never hangs, and a parsing worker thread gives the same answer as
 * the event loop. The pre-scan counts elements, attributes and text nodes exactly as the document
 * holds them. And whatever the value, `xml-out` either writes XML that the `xml` step reads back
 * or refuses it with a 422.
 */

const FIXTURES = join(import.meta.dirname, '../fixtures/transforms/xml');
const DOCUMENTS = readdirSync(FIXTURES)
  .filter((name) => name.endsWith('.xml'))
  .map((name) => readFileSync(join(FIXTURES, name), 'utf8'));

function step(options: Record<string, unknown>): TransformStep {
  const config = transformSchema.parse(options);
  return transformRegistry.create(config, { routeId: 'r', index: 0, name: `transform[0] (${config.type})` });
}

const READER_OPTIONS = [
  {},
  { soap: true },
  { attributes: false, stripNamespaces: false, parseValues: true, alwaysArray: ['a.b', 'Envelope.Body.x'] },
  { soap: true, maxDepth: 3, attributePrefix: '-', textNode: '$t' },
  { allowDoctype: true, maxElements: 3, maxAttributes: 2, maxTextNodes: 2 },
];
const READERS = READER_OPTIONS.map((options) => step({ type: 'xml', ...options }));

/** Runs one step; returns the payload it produced, or the HookrelayError it threw. */
function attempt(s: TransformStep, payload: Payload): Payload | HookrelayError {
  const ctx = { payload, setHeaders: {}, removeHeaders: new Set() } as unknown as TransformContext;
  try {
    s.run(ctx);
  } catch (error) {
    // Anything but one of our 4xx errors would become a 500 (or a crash) in the relay.
    if (!(error instanceof HookrelayError)) throw error;
    return error;
  }
  return ctx.payload;
}

function checkXml(body: string | Uint8Array, contentType = 'application/xml'): void {
  const bytes = Buffer.from(body);
  for (const reader of READERS) {
    const result = attempt(reader, { kind: 'bytes', bytes, contentType });
    if (result instanceof HookrelayError) {
      expect([400, 413, 415, 422]).toContain(result.status);
    } else {
      expect(result.kind).toBe('value');
      // The value is plain JSON data: it serialises (no cycles, no functions).
      expect(() => JSON.stringify((result as { value: unknown }).value)).not.toThrow();
    }
  }
}

/** Pieces of XML syntax, so random documents get past the first character more often. */
const TOKENS = [
  '<a>',
  '</a>',
  '<b x="1">',
  '</b>',
  '<c/>',
  '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">',
  '</s:Envelope>',
  '<s:Body>',
  '</s:Body>',
  '<?xml version="1.0"?>',
  '<!DOCTYPE a>',
  '<!DOCTYPE a [',
  ']>',
  '<!ENTITY e "x">',
  '&e;',
  '&lt;',
  '&#65;',
  '&#x0;',
  '&',
  '<![CDATA[',
  ']]>',
  '<!--',
  '-->',
  '<?pi',
  '?>',
  '"',
  "'",
  '=',
  ' y="2"',
  '/>',
  '<',
  '>',
  'text',
  '0042',
  ' ',
  '\n',
  '\r\n',
  '\u0000',
  '\ud800',
  'é',
  '__proto__',
  '<__proto__>',
  '<constructor>',
];

describe('xml: untrusted bodies never crash the step', () => {
  it('random strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => checkXml(text)),
      { numRuns: 300 },
    );
  });

  it('random bytes, with any content type', () => {
    const types = fc.constantFrom(
      'application/xml',
      'text/xml; charset=utf-16',
      'text/plain; charset=latin1',
      'application/json',
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), types, (bytes, type) => checkXml(bytes, type)),
      { numRuns: 300 },
    );
  });

  it('documents made of XML tokens', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }), (tokens) =>
        checkXml(tokens.join('')),
      ),
      { numRuns: 500 },
    );
  });

  it('valid documents cut short at any point', () => {
    fc.assert(
      fc.property(fc.constantFrom(...DOCUMENTS), fc.nat(), (document, cut) => {
        checkXml(document.slice(0, cut % (document.length + 1)));
      }),
      { numRuns: 400 },
    );
  });

  it('valid documents with random text spliced in', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...DOCUMENTS),
        fc.nat(),
        fc.oneof(fc.constantFrom(...TOKENS), fc.string({ unit: 'binary', maxLength: 5 })),
        (document, at, insert) => {
          const i = at % (document.length + 1);
          checkXml(document.slice(0, i) + insert + document.slice(i));
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('xml: a parsing worker thread answers as the event loop does', () => {
  const pool = new ParsePool({
    workerThreshold: 1,
    workers: 1,
    queue: 1_000,
    idleTimeout: 30_000,
    workerMemory: 64 * 2 ** 20,
  });
  afterAll(() => pool.close());
  const configs = READER_OPTIONS.map(
    (options) => transformSchema.parse({ type: 'xml', ...options }) as XmlConfig,
  );

  it('documents made of XML tokens, cut and spliced', async () => {
    const documents = fc.oneof(
      fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }).map((tokens) => tokens.join('')),
      fc
        .tuple(fc.constantFrom(...DOCUMENTS), fc.nat())
        .map(([doc, cut]) => doc.slice(0, cut % (doc.length + 1))),
    );
    await fc.assert(
      fc.asyncProperty(documents, async (text) => {
        const bytes = Buffer.from(text);
        if (bytes.length === 0) return;
        for (const [index, config] of configs.entries()) {
          const inline = attempt(READERS[index]!, { kind: 'bytes', bytes, contentType: 'application/xml' });
          const pooled = await pool
            .run(
              { kind: 'xml', config, step: 'transform[0] (xml)', bytes, contentType: 'application/xml' },
              { routeId: 'r', refuseWhenBusy: true },
            )
            .then(
              (value): Payload => ({ kind: 'value', value }),
              (error: unknown) => error,
            );
          if (inline instanceof HookrelayError) {
            expect(pooled).toBeInstanceOf(HookrelayError);
            expect((pooled as HookrelayError).message).toBe(inline.message);
          } else {
            expect(pooled).toEqual(inline);
          }
        }
      }),
      { numRuns: 100 },
    );
  });
});

// A generated document and what it holds: elements, attributes, text nodes (runs of text between
// markup that are not only white space, and CDATA sections).
type Node =
  | { kind: 'element'; name: string; attributes: number; children: Node[] }
  | { kind: 'text'; text: string }
  | { kind: 'cdata'; text: string }
  | { kind: 'comment' };

function serialise(node: Node): string {
  switch (node.kind) {
    case 'text':
      return node.text;
    case 'cdata':
      return `<![CDATA[${node.text}]]>`;
    case 'comment':
      return '<!-- c -->';
    case 'element': {
      const attributes = Array.from({ length: node.attributes }, (_, i) =>
        i % 2 ? ` a${i}='${i}'` : ` a${i} = "v>${i}"`,
      ).join('');
      const inner = node.children.map(serialise).join('');
      return node.children.length === 0
        ? `<${node.name}${attributes}/>`
        : `<${node.name}${attributes}>${inner}</${node.name}>`;
    }
  }
}

function counts(node: Node, total = { elements: 0, attributes: 0, textNodes: 0 }) {
  if (node.kind !== 'element') return total;
  total.elements++;
  total.attributes += node.attributes;
  let run = '';
  const flush = () => {
    if (/\S/.test(run)) total.textNodes++;
    run = '';
  };
  for (const child of node.children) {
    if (child.kind === 'text') {
      run += child.text;
      continue;
    }
    flush();
    if (child.kind === 'cdata') total.textNodes++;
    counts(child, total);
  }
  flush();
  return total;
}

describe('xml: the pre-scan counts what a document holds', () => {
  const tree = fc.letrec<{ element: Node; child: Node }>((tie) => ({
    element: fc.record({
      kind: fc.constant('element' as const),
      name: fc.constantFrom('a', 'b', 'x:c', 'Line'),
      attributes: fc.nat(3),
      children: fc.array(tie('child'), { maxLength: 4, depthIdentifier: 'tree' }),
    }),
    child: fc.oneof(
      { depthSize: 'small', depthIdentifier: 'tree' },
      fc.record({
        kind: fc.constant('text' as const),
        text: fc.constantFrom('t', ' ', '\n  ', 'a b', '&amp;'),
      }),
      fc.record({ kind: fc.constant('cdata' as const), text: fc.constantFrom('', 'x', ']') }),
      fc.constant({ kind: 'comment' as const }),
      tie('element'),
    ),
  })).element;
  const LIMITS = { elements: 'maxElements', attributes: 'maxAttributes', textNodes: 'maxTextNodes' } as const;

  it('a document is accepted at exactly its counts and refused with 413 one below any of them', () => {
    fc.assert(
      fc.property(tree, (root) => {
        const held = counts(root);
        const body = {
          kind: 'bytes' as const,
          bytes: Buffer.from(serialise(root)),
          contentType: 'application/xml',
        };
        const exact = {
          maxElements: held.elements,
          maxAttributes: Math.max(1, held.attributes),
          maxTextNodes: Math.max(1, held.textNodes),
        };
        expect(attempt(step({ type: 'xml', ...exact }), body)).not.toBeInstanceOf(HookrelayError);
        for (const [count, key] of Object.entries(LIMITS) as [keyof typeof held, string][]) {
          if (held[count] < 2) continue;
          const refused = attempt(step({ type: 'xml', ...exact, [key]: held[count] - 1 }), body);
          expect(refused).toBeInstanceOf(HookrelayError);
          expect((refused as HookrelayError).status).toBe(413);
          expect((refused as HookrelayError).params.limit).toBe(key);
        }
      }),
      { numRuns: 300 },
    );
  });
});

// ------------------------------------------------------------------------------------------------
// xml-out

const WRITERS = [
  { root: 'root', declaration: false },
  { root: 'root', pretty: true },
  { soap: '1.2' },
  {},
].map((options) => step({ type: 'xml-out', ...options }));
const READER = step({ type: 'xml', maxDepth: 1000, stripNamespaces: false });
const SOAP_READER = step({ type: 'xml', maxDepth: 1000, stripNamespaces: false, soap: true });

describe('xml-out: any value gives well-formed XML or a 422', () => {
  it('random JSON-like values (odd keys, control characters, nested arrays)', () => {
    const key = fc.oneof(
      fc.string({ maxLength: 6 }),
      fc.constantFrom('@a', '#text', '@', 'a:b', ':a', 'a b', '1a', '__proto__', 'é', '-x', '?xml'),
    );
    const values = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.oneof(fc.string({ unit: 'binary', maxLength: 8 }), fc.double(), fc.boolean(), fc.constant(null)),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(key, tie('value'), { maxKeys: 4 }),
      ),
    })).value;
    fc.assert(
      fc.property(values, (value) => {
        WRITERS.forEach((writer, index) => {
          const result = attempt(writer, { kind: 'value', value });
          if (result instanceof HookrelayError) {
            expect(result.status).toBe(422);
            return;
          }
          expect(result.kind).toBe('bytes');
          const read = attempt(index === 2 ? SOAP_READER : READER, result);
          expect(read).not.toBeInstanceOf(HookrelayError);
        });
      }),
      { numRuns: 400 },
    );
  });

  it('values XML can carry read back as the same value (xml-out → xml)', () => {
    // Element names the xml step accepts; text without leading/trailing white space, which it trims.
    const name = fc.stringMatching(/^[a-z][a-z0-9_-]{0,7}$/);
    const text = fc.string({ unit: 'grapheme', maxLength: 12 }).filter((s) => s === s.trim() && isXmlText(s));
    const scalar = fc.oneof(text, fc.integer(), fc.boolean(), fc.constant(null));
    const values = fc.letrec((tie) => ({
      element: fc.oneof(
        { depthSize: 'small' },
        scalar,
        tie('object'),
        fc.array(fc.oneof(scalar, tie('object')), { maxLength: 3 }),
      ),
      object: fc
        .tuple(
          fc.dictionary(name, tie('element'), { maxKeys: 4 }),
          fc.dictionary(
            name.map((n) => `@${n}`),
            fc.oneof(text, fc.integer(), fc.boolean()),
            { maxKeys: 2 },
          ),
          fc.option(text, { nil: undefined }),
        )
        .map(([elements, attributes, body]) => ({
          ...elements,
          ...attributes,
          ...(body === undefined ? {} : { '#text': body }),
        })),
    }));
    fc.assert(
      fc.property(values.object, (value) => {
        const written = attempt(WRITERS[0]!, { kind: 'value', value });
        expect(written).not.toBeInstanceOf(HookrelayError);
        const read = attempt(READER, written as Payload);
        expect(read).toEqual({ kind: 'value', value: { root: normalise(value) } });
      }),
      { numRuns: 300 },
    );
  });
});

/** What the xml step reads back for a value xml-out wrote: text is text, one-element arrays collapse. */
function normalise(value: unknown): unknown {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'object') return String(value);
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (key === '#text') {
      if (String(item) !== '') out[key] = String(item);
    } else if (key.startsWith('@')) {
      out[key] = String(item);
    } else if (Array.isArray(item)) {
      const items = item.map(normalise);
      if (items.length === 1) out[key] = items[0];
      else if (items.length > 1) out[key] = items;
    } else {
      out[key] = normalise(item);
    }
  }
  const keys = Object.keys(out);
  if (keys.length === 0) return '';
  if (keys.length === 1 && keys[0] === '#text') return out['#text'];
  return out;
}
