/**
 * `xml-out`: a JSON value to XML bytes with fast-xml-parser's XMLBuilder, in the same convention
 * the `xml` step reads (attribute prefix `@`, text under `#text`, arrays as repeated elements), so
 * `xml` → `xml-out` round-trips. The value is checked first, so what is sent is always well-formed:
 * names must be XML names, arrays cannot nest, characters XML cannot carry fail the step (422), and
 * values are escaped by this step (the builder's own escaping is off).
 */
import { z } from 'zod';
import { configCode } from '../core/config-codes.ts';
import type { HookrelayError } from '../core/errors.ts';
import { isJsonObject, isRawNumber, numberText } from '../core/json.ts';
import { fastXmlParser } from '../core/optional-libs.ts';
import type { Plugin } from '../core/registry.ts';
import { failed } from './errors.ts';
import { payloadValue } from './payload.ts';
import type { StepInfo, TransformContext, TransformStep } from './types.ts';
import {
  conventionFields,
  escapeAttribute,
  escapeText,
  isXmlName,
  isXmlText,
  RESERVED_NAMES,
  textNodeApartFromAttributes,
} from './xml-safety.ts';

const SOAP = {
  '1.1': { namespace: 'http://schemas.xmlsoap.org/soap/envelope/', contentType: 'text/xml; charset=utf-8' },
  '1.2': {
    namespace: 'http://www.w3.org/2003/05/soap-envelope',
    contentType: 'application/soap+xml; charset=utf-8',
  },
} as const;
const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';
/** Nesting accepted in the value: far beyond real documents, well within the stack. */
const MAX_DEPTH = 256;
/** Longest error reason: it quotes keys of the value, which the caller controls. */
const MAX_REASON = 200;
const MEDIA_TYPE = /^[\w!#$&^.+-]+\/[\w!#$&^.+-]+(\s*;\s*[\w!#$&^.+-]+=("[^"\r\n]*"|[\w!#$&^.+-]+))*$/;

const schema = z
  .strictObject({
    type: z.literal('xml-out'),
    root: z
      .string()
      .refine(isXmlName, {
        params: configCode('HOOKRELAY_CONFIG_INVALID_VALUE'),
        message: 'must be a valid XML element name',
      })
      .optional()
      .meta({
        description:
          'Wrap the value in an element of this name: `{ "Status": "OK" }` with `root: Ack` gives `<Ack><Status>OK</Status></Ack>`. Needed when the value does not have exactly one top-level key (XML has one root element); without it that fails with 422.',
        example: 'Ack',
      }),
    declaration: z.boolean().default(true).meta({
      description: 'Start with `<?xml version="1.0" encoding="UTF-8"?>`.',
      example: false,
    }),
    ...conventionFields,
    pretty: z.boolean().default(false).meta({
      description: 'Indent the XML (two spaces, one element per line). Off: one line.',
      example: true,
    }),
    soap: z
      .union([z.enum(['1.1', '1.2']), z.literal(1.1), z.literal(1.2)])
      .transform((version) => String(version) as '1.1' | '1.2')
      .optional()
      .meta({
        description:
          'Wrap the XML in a SOAP Envelope and Body of this version: `1.1` (`text/xml`) or `1.2` (`application/soap+xml`), with the prefix `soap`. The value (or `root`) is the Body content, which may hold several elements.',
        example: '1.1',
      }),
    contentType: z
      .string()
      .regex(MEDIA_TYPE, { message: 'must be a media type, e.g. text/xml; charset=utf-8' })
      .optional()
      .meta({
        description:
          'Content-Type of the XML sent. Default `application/xml; charset=utf-8`, with `soap` the version’s SOAP type. The body is always UTF-8.',
        example: 'text/xml; charset=utf-8',
      }),
  })
  .superRefine(textNodeApartFromAttributes)
  .meta({
    title: 'xml-out',
    description:
      'JSON value to XML: `{ "Order": { "@id": "7", "Line": ["a", "b"], "Note": "x & y" } }` → `<Order id="7"><Line>a</Line><Line>b</Line><Note>x &amp; y</Note></Order>`. Keys with `attributePrefix` are attributes, `textNode` is the element text, an array repeats its element, `null` is an empty element. Values are escaped. A key that is not an XML name, an array inside an array, or a character XML cannot carry fails with 422.',
  });

type XmlOutConfig = z.output<typeof schema>;
type Tree = Record<string, unknown>;

export const xmlOutTransform: Plugin<typeof schema, TransformStep> = {
  type: 'xml-out',
  description: 'JSON value to XML (optionally in a SOAP envelope).',
  schema,
  create(config: XmlOutConfig, info?: StepInfo): TransformStep {
    const step = info?.name ?? 'xml-out';
    const { root, soap, attributePrefix, textNode, pretty } = config;
    const contentType =
      config.contentType ?? (soap ? SOAP[soap].contentType : 'application/xml; charset=utf-8');
    const { XMLBuilder } = fastXmlParser();
    const builder = new XMLBuilder({
      ignoreAttributes: false,
      attributeNamePrefix: attributePrefix,
      textNodeName: textNode,
      format: pretty,
      indentBy: '  ',
      // Escaping is done here (escapeText/escapeAttribute), once, for every value the builder writes.
      processEntities: false,
      tagValueProcessor: (_name, value) => escapeText(String(value)),
      attributeValueProcessor: (_name, value) => escapeAttribute(String(value)),
      // The builder would write an attribute whose value is "true" as a bare name: not XML.
      suppressBooleanAttributes: false,
      suppressEmptyNode: false,
      maxNestedTags: MAX_DEPTH + 8,
    });
    const prolog = config.declaration ? (pretty ? `${DECLARATION}\n` : DECLARATION) : '';
    const convert = new Converter(attributePrefix, textNode, step);
    return {
      run(ctx: TransformContext) {
        const value = payloadValue(ctx, step);
        let document: Tree;
        if (soap) {
          const body = root === undefined ? convert.body(value) : convert.wrap(root, value);
          const envelope = tree();
          envelope[`${attributePrefix}xmlns:soap`] = SOAP[soap].namespace;
          envelope['soap:Body'] = body;
          document = tree();
          document['soap:Envelope'] = envelope;
        } else {
          document = root === undefined ? convert.single(value) : convert.wrap(root, value);
        }
        const xml = prolog + builder.build(document);
        ctx.payload = { kind: 'bytes', bytes: Buffer.from(xml, 'utf8'), contentType };
      },
    };
  },
};

/** Objects without a prototype: no key of the value can reach Object.prototype. */
function tree(): Tree {
  return Object.create(null) as Tree;
}

/** An object of elements; a raw number (json.ts) is an object to `typeof` but text here. */
const isRecord = isJsonObject;

/** Checks a JSON value and copies it into the shape the builder writes correctly. */
class Converter {
  readonly prefix: string;
  readonly textNode: string;
  readonly step: string;
  constructor(prefix: string, textNode: string, step: string) {
    this.prefix = prefix;
    this.textNode = textNode;
    this.step = step;
  }

  /** A 422; the reason is cut short, as it quotes keys of the (untrusted) value. */
  private fail(reason: string): HookrelayError {
    return failed(this.step, reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON)}…` : reason);
  }

  /** The value under one root element named `root`. */
  wrap(root: string, value: unknown): Tree {
    if (Array.isArray(value)) {
      throw this.fail(`the value is an array: map it into an object first (XML has one root element)`);
    }
    const document = tree();
    document[root] = this.element(value, root, 1);
    return document;
  }

  /** A value that must hold exactly one root element itself. */
  single(value: unknown): Tree {
    const document = this.top(value, 'the value');
    const keys = Object.keys(document);
    const only = keys[0];
    if (keys.length !== 1 || only === undefined || only === this.textNode || only.startsWith(this.prefix)) {
      const listed = keys.length === 0 ? 'no elements' : `${keys.length} top-level keys (${keys.join(', ')})`;
      throw this.fail(`the value has ${listed}: XML has one root element, set \`root\` to wrap it`);
    }
    const element = document[only];
    if (Array.isArray(element) && element.length !== 1) {
      throw this.fail(
        `'${only}' is an array of ${element.length}: XML has one root element, set \`root\` to wrap it`,
      );
    }
    return document;
  }

  /** The content of a SOAP Body: elements (and attributes of the Body), not text. */
  body(value: unknown): Tree {
    const body = this.top(value, 'the value');
    if (body[this.textNode] !== undefined) {
      throw this.fail(`the SOAP Body holds elements, not text: set \`root\` to wrap '${this.textNode}'`);
    }
    return body;
  }

  /** An object whose keys become elements (and attributes) of the level it is written at. */
  top(value: unknown, path: string): Tree {
    if (!isRecord(value)) {
      throw this.fail(`${path} is ${describe(value)}, not an object: set \`root\` to wrap it`);
    }
    return this.object(value, '', 1);
  }

  private object(value: Record<string, unknown>, path: string, depth: number): Tree {
    if (depth > MAX_DEPTH) throw this.fail(`the value is nested deeper than ${MAX_DEPTH} levels`);
    const out = tree();
    for (const key of Object.keys(value)) {
      const item = value[key];
      const at = path ? `${path}.${key}` : key;
      if (item === undefined) continue;
      if (key === this.textNode || key.startsWith(this.prefix)) {
        if (key !== this.textNode && !isXmlName(key.slice(this.prefix.length))) {
          throw this.fail(`'${at}': '${key.slice(this.prefix.length)}' is not a valid XML attribute name`);
        }
        if (item === null) continue;
        if (typeof item === 'object' && !isRawNumber(item)) {
          throw this.fail(
            `'${at}' is ${describe(item)}: an attribute or text must be a string, number or boolean`,
          );
        }
        out[key] = this.text(item, at);
      } else {
        if (!isXmlName(key)) {
          const where = at === key ? '' : ` (at ${at})`;
          throw this.fail(`'${key}'${where} is not a valid XML element name`);
        }
        if (RESERVED_NAMES.has(key)) {
          throw this.fail(`'${at}': the element name '${key}' is reserved (the xml step refuses it too)`);
        }
        out[key] = Array.isArray(item)
          ? item
              .filter((entry) => entry !== undefined)
              .map((entry, index) => {
                const where = `${at}[${index}]`;
                if (Array.isArray(entry))
                  throw this.fail(`'${where}': XML cannot hold an array inside an array`);
                // The builder writes null items ahead of the others: an empty string keeps the order.
                return entry === null ? '' : this.element(entry, where, depth + 1);
              })
          : this.element(item, at, depth + 1);
      }
    }
    return out;
  }

  private element(value: unknown, path: string, depth: number): unknown {
    if (value === null || value === undefined) return null;
    if (isRecord(value)) return this.object(value, path, depth);
    if (Array.isArray(value)) throw this.fail(`'${path}': XML cannot hold an array inside an array`);
    return this.text(value, path);
  }

  private text(value: unknown, path: string): string {
    if (typeof value === 'string') {
      if (!isXmlText(value)) {
        throw this.fail(
          `'${path}' contains a character XML cannot carry (a control character or a lone surrogate)`,
        );
      }
      return value;
    }
    if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
    // The caller's digits: 5738291046618274931, 10.50, 1e400, as they arrived.
    if (isRawNumber(value)) return numberText(value);
    if (typeof value === 'boolean' || typeof value === 'bigint') return String(value);
    throw this.fail(`'${path}' is ${describe(value)}, not a JSON value`);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (isRawNumber(value)) return 'a number';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
