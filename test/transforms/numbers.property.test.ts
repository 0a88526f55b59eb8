import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runTransforms } from '../../src/transforms/run.ts';
import { document, leaves, text } from './json-documents.ts';
import { compile, inbound } from './support.ts';

/**
 * Random JSON documents full of numbers a double cannot hold as written (long integers, long or
 * zero-padded decimals, exponents, -0, beyond the double range): a mapping that passes them
 * through — `fields` copying every leaf, `keep: true`, jsonata `$` and `$merge([$, …])` — forwards every number with
 * its exact source text. The documents (json-documents.ts) are written so that "every number
 * kept" is "the same text".
 */

/** `fields` cannot write a `__proto__` key (a config error), so such documents lose it there. */
const copiesEveryLeaf = (body: string) => !body.includes('"__proto__":');

async function forwarded(steps: Record<string, unknown>[], body: string): Promise<string> {
  const bytes = Buffer.from(body);
  const result = await runTransforms(compile(...steps), inbound({ body: bytes }), {
    kind: 'bytes',
    bytes,
    contentType: 'application/json',
  });
  return result.body.toString('utf8');
}

const JSONATA_PASS = [{ type: 'map', jsonata: '$' }];
// A string: a number literal equal to an input number would be written as the input writes it.
const JSONATA_MERGE = [{ type: 'map', jsonata: '$merge([$, { "added by the step": "x" }])' }];
const KEEP = [{ type: 'map', keep: true, fields: { '["added by the step"]': { const: 1 } } }];

describe('numbers: pass-through mappings keep every number’s source text', () => {
  it('fields copying every leaf, keep: true, and jsonata $', async () => {
    await fc.assert(
      fc.asyncProperty(document, async (doc) => {
        const body = text(doc);
        if (copiesEveryLeaf(body)) {
          const fields = Object.fromEntries(leaves(doc).map((path) => [path, `$${path}`]));
          expect(await forwarded([{ type: 'map', fields }], body)).toBe(body);
        }
        expect(await forwarded(JSONATA_PASS, body)).toBe(body);
        const added = `${body.slice(0, -1)},"added by the step":1}`;
        expect(await forwarded(KEEP, body)).toBe(added);
        expect(await forwarded(JSONATA_MERGE, body)).toBe(`${body.slice(0, -1)},"added by the step":"x"}`);
      }),
      { numRuns: 150 },
    );
  });

  it('two steps in a row (fields, then jsonata $, then keep) change nothing either', async () => {
    await fc.assert(
      fc.asyncProperty(document, async (doc) => {
        const body = text(doc);
        fc.pre(copiesEveryLeaf(body));
        const fields = Object.fromEntries(leaves(doc).map((path) => [path, `$${path}`]));
        const out = await forwarded([{ type: 'map', fields }, ...JSONATA_PASS, ...KEEP], body);
        expect(out).toBe(`${body.slice(0, -1)},"added by the step":1}`);
      }),
      { numRuns: 75 },
    );
  });
});
