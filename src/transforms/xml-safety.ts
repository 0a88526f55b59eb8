/**
 * XML helpers shared by the `xml` and `xml-out` steps: a pre-parse safety scan, the entity
 * decoder handed to fast-xml-parser, XML names and character rules, escaping, and the schema
 * fields for the JSON convention both steps share (attribute prefix, text node name).
 */
import { z } from 'zod';
import { configCode } from '../core/config-codes.ts';

/** A problem found by the scan, with the offset it was found at (for line and column). */
export class XmlScanError extends Error {
  readonly offset: number | undefined;
  /** The setting that refused the document (`maxDepth`, `allowDoctype`), when one did. */
  readonly limit: XmlLimit | undefined;
  constructor(reason: string, offset?: number, limit?: XmlLimit) {
    super(reason);
    this.name = 'XmlScanError';
    this.offset = offset;
    this.limit = limit;
  }
}

/** A document with more elements, attributes or text nodes than allowed: too large, not malformed. */
export class XmlLimitError extends XmlScanError {
  override readonly limit: 'maxElements' | 'maxAttributes' | 'maxTextNodes';
  constructor(reason: string, offset: number, limit: 'maxElements' | 'maxAttributes' | 'maxTextNodes') {
    super(reason, offset, limit);
    this.name = 'XmlLimitError';
    this.limit = limit;
  }
}

/** The settings of an `xml` step that can refuse a document, as the metric labels name them. */
export type XmlLimit = 'maxDepth' | 'maxElements' | 'maxAttributes' | 'maxTextNodes' | 'allowDoctype';

export interface ScanLimits {
  maxDepth: number;
  maxElements: number;
  maxAttributes: number;
  maxTextNodes: number;
  /**
   * `allowed`: a DOCTYPE without an internal subset is ignored. `refused`: any DOCTYPE is refused.
   * `soap`: refused as well, because SOAP forbids one (SOAP 1.1 §3, SOAP 1.2 part 1 §5).
   */
  doctype: 'allowed' | 'refused' | 'soap';
}

export interface ScanResult {
  /** The root element's start tag: its qualified name and the raw attribute text. */
  root: { name: string; attributes: string } | undefined;
}

/** What the scan has counted so far; each count is checked against its limit as it grows. */
interface Counts {
  elements: number;
  attributes: number;
  textNodes: number;
}

/**
 * One linear pass over the document before any parser sees it, for what fast-xml-parser's
 * validator lets through or checks too late:
 * - a DOCTYPE is refused unless `doctype` is `allowed`, and a DOCTYPE with an internal subset
 *   (`<!DOCTYPE x [ … ]>`) always: that is where entity declarations live, so no user-defined
 *   entity (billion laughs, external `SYSTEM` entities) ever reaches the parser. An allowed
 *   DOCTYPE (a name and an external id) is ignored: nothing is ever fetched. A DOCTYPE after the
 *   root element is refused.
 * - `<!ENTITY`, `<!ELEMENT` and other declarations outside a DOCTYPE are refused.
 * - comments, CDATA sections and processing instructions must be closed.
 * - element nesting deeper than `maxDepth` is refused before the (recursive) parser sees it.
 * - more elements, attributes or text nodes (runs of character data that are not only white
 *   space, and CDATA sections) than the limits allow are refused where the count goes over, so
 *   the cost of a refused document is the scan of its first part, and the parser never builds it.
 * - only white space, comments and processing instructions may sit outside the one root element
 *   (the validator lets a second, self-closing root and text after one through).
 * The validator then checks the rest of well-formedness (tag balance, names, attributes).
 */
export function scanXml(text: string, limits: ScanLimits): ScanResult {
  const { maxDepth } = limits;
  const references = new ReferenceChecker(text);
  const counts: Counts = { elements: 0, attributes: 0, textNodes: 0 };
  let depth = 0;
  let root: ScanResult['root'];
  let i = text.indexOf('<');
  checkText(text, 0, i === -1 ? text.length : i, depth, references, counts, limits);
  while (i !== -1) {
    if (text.startsWith('<!--', i)) {
      i = after(text, '-->', i + 4, 'comment is not closed', i);
    } else if (text.startsWith('<![CDATA[', i)) {
      if (depth <= 0) throw new XmlScanError('CDATA outside the root element', i);
      countTextNode(counts, limits, i);
      i = after(text, ']]>', i + 9, 'CDATA section is not closed', i);
    } else if (text.startsWith('<?', i)) {
      i = after(text, '?>', i + 2, 'processing instruction is not closed', i);
    } else if (text.startsWith('<!DOCTYPE', i)) {
      if (root) throw new XmlScanError('a DOCTYPE is only allowed before the root element', i);
      const start = i;
      i = doctypeEnd(text, i);
      if (limits.doctype === 'soap') {
        throw new XmlScanError('a SOAP message must not contain a DOCTYPE', start, 'allowDoctype');
      }
      if (limits.doctype === 'refused') {
        throw new XmlScanError('a DOCTYPE is refused (allowDoctype is off)', start, 'allowDoctype');
      }
    } else if (text[i + 1] === '!') {
      const name = /^<![A-Za-z[]*/.exec(text.slice(i, i + 12))?.[0] ?? '<!';
      throw new XmlScanError(`unexpected markup '${name}'`, i);
    } else if (text[i + 1] === '/') {
      depth--;
      i = after(text, '>', i + 2, 'closing tag is not closed', i);
    } else {
      const end = tagEnd(text, i, counts);
      const selfClosing = text[end - 1] === '/';
      if (root && depth <= 0) throw new XmlScanError('a second root element (XML has one)', i);
      if (depth + 1 > maxDepth) {
        throw new XmlScanError(
          `elements are nested deeper than the limit of ${maxDepth} levels`,
          i,
          'maxDepth',
        );
      }
      if (++counts.elements > limits.maxElements) {
        throw new XmlLimitError(`more than ${limits.maxElements} elements (maxElements)`, i, 'maxElements');
      }
      if (counts.attributes > limits.maxAttributes) {
        throw new XmlLimitError(
          `more than ${limits.maxAttributes} attributes (maxAttributes)`,
          i,
          'maxAttributes',
        );
      }
      if (!root) {
        const inner = text.slice(i + 1, selfClosing ? end - 1 : end);
        const match = /^[^\s/>]*/.exec(inner)![0];
        root = { name: match, attributes: inner.slice(match.length) };
      }
      if (!selfClosing) depth++;
      references.check(i, end);
      i = end + 1;
    }
    const next = text.indexOf('<', i);
    checkText(text, i, next === -1 ? text.length : next, depth, references, counts, limits);
    i = next;
  }
  return { root };
}

function countTextNode(counts: Counts, limits: ScanLimits, offset: number): void {
  if (++counts.textNodes > limits.maxTextNodes) {
    throw new XmlLimitError(
      `more than ${limits.maxTextNodes} text nodes (maxTextNodes)`,
      offset,
      'maxTextNodes',
    );
  }
}

/**
 * Character data between markup: references must be defined, only white space may sit outside
 * the root, and inside it a run that is not only white space is a text node.
 */
function checkText(
  text: string,
  from: number,
  to: number,
  depth: number,
  references: ReferenceChecker,
  counts: Counts,
  limits: ScanLimits,
): void {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) {
      if (depth <= 0) throw new XmlScanError('text outside the root element', i);
      countTextNode(counts, limits, i);
      break;
    }
  }
  if (depth > 0) references.check(from, to);
}

/**
 * Every `&` in text or attribute values must start a reference XML defines. The position of the
 * next `&` is remembered, so a document with few of them is not searched to its end for every
 * element (which would be quadratic).
 */
class ReferenceChecker {
  readonly text: string;
  next: number;
  constructor(text: string) {
    this.text = text;
    this.next = text.indexOf('&');
  }

  check(from: number, to: number): void {
    if (this.next !== -1 && this.next < from) this.next = this.text.indexOf('&', from);
    while (this.next !== -1 && this.next < to) {
      const i = this.next;
      REFERENCE.lastIndex = i;
      const match = REFERENCE.exec(this.text)!;
      try {
        resolveReference(match[0], match[1]!, match[2]!);
      } catch (error) {
        throw new XmlScanError((error as Error).message, i);
      }
      this.next = this.text.indexOf('&', i + 1);
    }
  }
}

function after(text: string, close: string, from: number, reason: string, start: number): number {
  const end = text.indexOf(close, from);
  if (end === -1) throw new XmlScanError(reason, start);
  return end + close.length;
}

/**
 * The index of the `>` that ends the start tag at `start`, skipping quoted attribute values and
 * counting them: each attribute has exactly one (the validator refuses any other form).
 */
function tagEnd(text: string, start: number, counts: Counts): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 62 /* > */) return i;
    if (c === 34 /* " */ || c === 39 /* ' */) {
      counts.attributes++;
      const close = text.indexOf(text[i]!, i + 1);
      if (close === -1) break;
      i = close;
    }
  }
  throw new XmlScanError('start tag is not closed', start);
}

function doctypeEnd(text: string, start: number): number {
  for (let i = start + 9; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 62 /* > */) return i + 1;
    if (c === 91 /* [ */) {
      throw new XmlScanError(
        'a DOCTYPE with an internal subset (entity declarations) is refused',
        start,
        'allowDoctype',
      );
    }
    if (c === 34 || c === 39) {
      const close = text.indexOf(text[i]!, i + 1);
      if (close === -1) break;
      i = close;
    }
  }
  throw new XmlScanError('DOCTYPE is not closed', start);
}

/** An entity reference the document uses that XML does not define (none are declared: see scanXml). */
export class XmlEntityError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'XmlEntityError';
  }
}

const PREDEFINED = new Map([
  ['lt', '<'],
  ['gt', '>'],
  ['amp', '&'],
  ['quot', '"'],
  ['apos', "'"],
]);
const REFERENCE = /&(#x[0-9a-fA-F]+|#[0-9]+|[^\s&;<>"']*)(;?)/y;
const REFERENCES = /&(#x[0-9a-fA-F]+|#[0-9]+|[^\s&;<>"']*)(;?)/g;

function resolveReference(whole: string, body: string, semicolon: string): string {
  if (!semicolon) throw new XmlEntityError(`'&' must start an entity reference such as &amp;`);
  if (body.startsWith('#')) {
    if (!/^#(x[0-9a-fA-F]+|[0-9]+)$/.test(body))
      throw new XmlEntityError(`${whole} is not a character reference`);
    const code = body[1] === 'x' ? Number.parseInt(body.slice(2), 16) : Number.parseInt(body.slice(1), 10);
    const char = code <= 0x10ffff ? String.fromCodePoint(code) : '';
    if (!char || !isXmlText(char)) throw new XmlEntityError(`${whole} is not a character XML allows`);
    return char;
  }
  const value = PREDEFINED.get(body);
  if (value === undefined) throw new XmlEntityError(`undefined entity ${whole}`);
  return value;
}

/**
 * The entity decoder fast-xml-parser calls for text and attribute values: the five predefined
 * entities and character references, decoded in one pass (so `&amp;lt;` stays `&lt;`). Its own
 * decoder skips character references and keeps unknown entities as text; an undefined entity is
 * a well-formedness error (XML 1.0 §4.1), so it is refused here. Declared entities never arrive:
 * the scan refuses DOCTYPE internal subsets, and `addInputEntities` refuses them again.
 */
export const xmlEntityDecoder = {
  setExternalEntities(): void {},
  addInputEntities(entities: Record<string, unknown>): void {
    if (Object.keys(entities).length > 0) throw new XmlEntityError('entity declarations are refused');
  },
  reset(): void {},
  setXmlVersion(): void {},
  decode(text: string): string {
    return text.includes('&') ? text.replace(REFERENCES, resolveReference) : text;
  },
};

// XML 1.0 §2.2 Char, minus what no document can carry even escaped.
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters being refused
const NOT_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

/** True when every character of the string may appear in an XML 1.0 document. */
export function isXmlText(text: string): boolean {
  return !NOT_XML_CHAR.test(text) && text.isWellFormed();
}

// XML 1.0 §2.3 NameStartChar / NameChar (BMP only, as fast-xml-parser's validator), without ':'.
const START =
  'A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C\\u200D\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD';
const CHAR = `${START}\\-.0-9\\u00B7\\u0300-\\u036F\\u203F\\u2040`;
const NCNAME = `[${START}][${CHAR}]*`;
const QNAME = new RegExp(`^${NCNAME}(?::${NCNAME})?$`);
const NAME_START = new RegExp(`^[:${START}]`);

/** An element or attribute name: an XML Name with at most one `:` (a namespace prefix). */
export function isXmlName(name: string): boolean {
  return QNAME.test(name);
}

/** Local part of a qualified name: `soap:Envelope` → `Envelope`. */
export function localName(name: string): string {
  return name.slice(name.indexOf(':') + 1);
}

/** Text content: `&`, `<`, `>` (so `]]>` cannot appear) and CR (which parsers turn into LF). */
export function escapeText(text: string): string {
  return text.replace(/[&<>\r]/g, (c) => TEXT_ESCAPES[c]!);
}

/** Attribute values: also both quotes, and the white space attribute normalisation would change. */
export function escapeAttribute(text: string): string {
  return text.replace(/[&<>"'\r\n\t]/g, (c) => ATTRIBUTE_ESCAPES[c]!);
}

const TEXT_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#13;' };
const ATTRIBUTE_ESCAPES: Record<string, string> = {
  ...TEXT_ESCAPES,
  '"': '&quot;',
  "'": '&apos;',
  '\n': '&#10;',
  '\t': '&#9;',
};

/** Names fast-xml-parser refuses as elements (they would reach Object.prototype); xml-out refuses them too. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Schema fields for the JSON shape of XML, shared so `xml` and `xml-out` agree by default. */
export const conventionFields = {
  attributePrefix: z
    .string()
    .min(1)
    .max(16)
    .refine((value) => !NAME_START.test(value) && !/\s/.test(value) && !RESERVED_NAMES.has(value), {
      params: configCode('HOOKRELAY_CONFIG_INVALID_VALUE'),
      message:
        'must not start with a character an XML name can start with (a letter, `_`, `:`), so an attribute never collides with an element',
    })
    .default('@')
    .meta({
      description:
        'Prefix of the keys that hold attributes: `<Total currency="EUR">` ↔ `{ "@currency": "EUR" }`.',
      example: '-',
    }),
  textNode: z
    .string()
    .min(1)
    .max(32)
    .refine((value) => !isXmlName(value) && !/\s/.test(value) && !RESERVED_NAMES.has(value), {
      params: configCode('HOOKRELAY_CONFIG_INVALID_VALUE'),
      message:
        'must not be a valid XML element name (e.g. `#text`, `$t`), so it never collides with an element',
    })
    .default('#text')
    .meta({
      description:
        'Key of an element’s text when the element also has attributes or children: `<Total currency="EUR">9.99</Total>` ↔ `{ "@currency": "EUR", "#text": "9.99" }`.',
      example: '#value',
    }),
};

/** Schema refinement shared by `xml` and `xml-out`: the text node name must not look like an attribute. */
export function textNodeApartFromAttributes(
  config: { attributePrefix?: unknown; textNode?: unknown },
  ctx: z.RefinementCtx,
): void {
  const { attributePrefix, textNode } = config;
  if (
    typeof attributePrefix === 'string' &&
    typeof textNode === 'string' &&
    textNode.startsWith(attributePrefix)
  ) {
    ctx.addIssue({
      code: 'custom',
      params: configCode('HOOKRELAY_CONFIG_CONFLICT'),
      path: ['textNode'],
      message: `must not start with the attribute prefix '${attributePrefix}'`,
    });
  }
}
