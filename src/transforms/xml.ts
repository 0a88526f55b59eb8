/**
 * `xml`: an XML body to a JSON value with fast-xml-parser, in the convention Redpanda Connect
 * documents: one key per element, repeated elements become arrays, attributes are keys with a
 * prefix (`@` here), an element's text sits under `#text` when it also has attributes or
 * children, and text stays text unless `parseValues` is on. `soap: true` unwraps the SOAP
 * Envelope/Body so later steps see the message element itself.
 *
 * Safety (the body is untrusted): a linear pre-scan (xml-safety.ts) refuses any DOCTYPE unless
 * `allowDoctype` (and always one with an internal subset), so no user-defined or external entity
 * is ever declared, let alone expanded (billion laughs is refused at its DOCTYPE), and refuses
 * nesting beyond `maxDepth` and more elements, attributes or text nodes than the limits before
 * the parser builds anything; fast-xml-parser's validator then checks well-formedness with line
 * and column. A body of `parsing.workerThreshold` or more is parsed by a worker thread
 * (src/parsing/pool.ts), which builds its own reader from this step's config, so a large document
 * does not hold up the event loop.
 */
import { TextDecoder } from 'node:util';
import type { MatcherView } from 'fast-xml-parser';
import { z } from 'zod';
import { configCode } from '../core/config-codes.ts';
import { HookrelayError } from '../core/errors.ts';
import { exactNumber, isJsonObject } from '../core/json.ts';
import { lineColumn } from '../core/line-column.ts';
import { fastXmlParser } from '../core/optional-libs.ts';
import type { Plugin } from '../core/registry.ts';
import { failed, malformed, tooComplex, unsupported } from './errors.ts';
import { isJson, mediaType } from './payload.ts';
import type { StepInfo, StepRuntime, TransformContext, TransformStep } from './types.ts';
import {
  conventionFields,
  localName,
  type ScanLimits,
  type ScanResult,
  scanXml,
  textNodeApartFromAttributes,
  XmlEntityError,
  XmlLimitError,
  XmlScanError,
  xmlEntityDecoder,
} from './xml-safety.ts';

const SOAP_NAMESPACES: Record<string, string> = {
  'http://schemas.xmlsoap.org/soap/envelope/': '1.1',
  'http://www.w3.org/2003/05/soap-envelope': '1.2',
};
const EXPECTED = 'XML (application/xml, text/xml, application/*+xml or text/plain)';
/** Longest parser message quoted back to the caller and into the log. */
const MAX_REASON = 160;

const schema = z
  .strictObject({
    type: z.literal('xml'),
    attributes: z.boolean().default(true).meta({
      description:
        'Keep attributes, as keys with `attributePrefix`. Off: attributes are dropped and an element with only text becomes that text.',
      example: false,
    }),
    ...conventionFields,
    stripNamespaces: z.boolean().default(true).meta({
      description:
        'Drop namespace prefixes from element and attribute names (`soap:Envelope` → `Envelope`) and drop `xmlns` declarations. Off: names are kept as written (`soap:Envelope`, `@xmlns:soap`).',
      example: false,
    }),
    alwaysArray: z
      .array(
        z
          .string()
          .regex(/^[^.\s]+(\.[^.\s]+)*$/, { message: 'must be element names separated by dots' })
          .meta({ description: 'A dotted path of element names.' }),
      )
      .default([])
      .meta({
        description:
          'Elements that are always arrays, even when only one arrives, so the JSON shape does not depend on the count. Dotted paths of element names from the root, as they appear in the output (without prefixes when `stripNamespaces` is on). With `soap`, a path may also start below the Body (`OrderCreated.Line`).',
        example: ['Envelope.Body.Order.Line'],
      }),
    parseValues: z.boolean().default(false).meta({
      description:
        'Convert text and attribute values that are `true`/`false` or decimal numbers (`-12.50`, `5738291046618274931`) to JSON booleans and numbers, each number with exactly the digits of the text. Off (the default): every value stays a string, so IDs and ZIP codes like `0004711` keep their leading zeros. Even when on, numbers with leading zeros, a `+` sign, a bare `.5` or `5.`, hex and exponent forms stay strings.',
      example: true,
    }),
    soap: z.boolean().default(false).meta({
      description:
        'Unwrap a SOAP 1.1 or 1.2 Envelope: the value becomes the content of `Body` (e.g. `{ "OrderCreated": { … } }`); the SOAP Header is dropped. A Fault in the Body is passed on as `{ "Fault": { … } }`. A document that is not a SOAP Envelope with a Body fails with 422.',
      example: true,
    }),
    maxDepth: z.number().int().min(1).max(1000).default(64).meta({
      description: 'Deepest element nesting accepted; a deeper document is refused with 400.',
      example: 32,
    }),
    maxElements: countLimit(
      'Most elements a document may have; one with more is refused with 413 where the count goes over, before it is parsed. The default lets a batch of several thousand order lines through (the 1 MB default body holds about 4,000 pretty-printed lines of five elements each); raise it with `limits.body` for larger batches.',
      50_000,
    ),
    maxAttributes: countLimit(
      'Most attributes a document may have in all (namespace declarations included); more are refused with 413 before the document is parsed.',
      50_000,
    ),
    maxTextNodes: countLimit(
      'Most text nodes a document may have: runs of text between markup that are not only white space, and CDATA sections. More are refused with 413 before the document is parsed.',
      50_000,
    ),
    allowDoctype: z.boolean().default(false).meta({
      description:
        'Accept a DOCTYPE without an internal subset (a name and an external id, e.g. `<!DOCTYPE order SYSTEM "order.dtd">`) and ignore it: nothing is fetched or resolved. Off (the default), any DOCTYPE is refused with 400. One with an internal subset (`<!DOCTYPE x [ … ]>`, where entities are declared) is always refused. Not allowed with `soap`: a SOAP message must not contain a DOCTYPE.',
      example: true,
      // `soap: true` is the combined example's; the two together are a config error.
      exampleAlone: true,
    }),
  })
  .superRefine(textNodeApartFromAttributes)
  .superRefine(noDoctypeInSoap)
  .meta({
    title: 'xml',
    description:
      'XML body to a JSON value: `<Order id="7"><Line>a</Line><Line>b</Line></Order>` → `{ "Order": { "@id": "7", "Line": ["a", "b"] } }`. CDATA is text. Read from a body of any type except JSON, form and binary ones (415); malformed XML is refused with 400 and its line and column. For safety a DOCTYPE is refused with 400 (unless `allowDoctype`; one with an internal subset always), entities other than the five predefined ones and character references are never expanded, nesting is limited by `maxDepth`, and the counts of elements, attributes and text nodes by `maxElements`, `maxAttributes` and `maxTextNodes` (413). Bodies of `parsing.workerThreshold` or more are parsed by worker threads.',
  });

function countLimit(description: string, byDefault: number) {
  return z.number().int().min(1).max(100_000_000).default(byDefault).meta({ description, example: 200_000 });
}

/** SOAP 1.1 §3 and SOAP 1.2 part 1 §5: "A SOAP message MUST NOT contain a Document Type Declaration". */
function noDoctypeInSoap(config: { soap?: unknown; allowDoctype?: unknown }, ctx: z.RefinementCtx): void {
  if (config.soap === true && config.allowDoctype === true) {
    ctx.addIssue({
      code: 'custom',
      params: configCode('HOOKRELAY_CONFIG_CONFLICT'),
      path: ['allowDoctype'],
      message:
        'must not be true with `soap: true`: a SOAP message must not contain a DOCTYPE (SOAP 1.1 §3, SOAP 1.2 part 1 §5)',
    });
  }
}

export type XmlConfig = z.output<typeof schema>;

export const xmlTransform: Plugin<typeof schema, TransformStep> = {
  type: 'xml',
  description: 'XML (or SOAP) body to a JSON value.',
  schema,
  create(config: XmlConfig, info?: StepInfo): TransformStep {
    const step = info?.name ?? 'xml';
    const read = createXmlReader(config, step);
    const runtime = info?.runtime;
    const routeId = info?.routeId ?? '';
    const counted = countRefusal(runtime, routeId);
    return {
      run(ctx: TransformContext) {
        const { payload } = ctx;
        if (payload.kind !== 'bytes') {
          throw unsupported(step, 'structured data (an earlier step already parsed the body)', EXPECTED);
        }
        if (refused(payload.contentType)) throw unsupported(step, payload.contentType, EXPECTED);
        if (payload.bytes.length === 0) throw malformed(step, 'XML', 'the body is empty');
        const pool = runtime?.pool;
        if (pool?.offloads(payload.bytes.length)) {
          const job = {
            kind: 'xml',
            config,
            step,
            bytes: payload.bytes,
            contentType: payload.contentType,
          } as const;
          return pool.run(job, { routeId, refuseWhenBusy: runtime?.refuseWhenBusy !== false }).then(
            (value) => {
              ctx.payload = { kind: 'value', value };
            },
            (error: unknown) => {
              throw counted(error);
            },
          );
        }
        try {
          ctx.payload = { kind: 'value', value: read(payload.bytes, payload.contentType) };
        } catch (error) {
          throw counted(error);
        }
      },
    };
  },
};

/** Bytes and their content type to the JSON value; throws the step's HookrelayError. */
export type XmlReader = (bytes: Buffer, contentType: string | undefined) => unknown;

/**
 * The whole conversion for one step's config: decode, scan, validate, parse, unwrap SOAP. The
 * step calls it inline; a parsing worker builds its own from the same (serialisable) config,
 * since the parser's options hold functions that cannot cross to a thread.
 */
export function createXmlReader(config: XmlConfig, step: string): XmlReader {
  const { soap, attributePrefix, textNode } = config;
  const limits: ScanLimits = {
    maxDepth: config.maxDepth,
    maxElements: config.maxElements,
    maxAttributes: config.maxAttributes,
    maxTextNodes: config.maxTextNodes,
    doctype: soap ? 'soap' : config.allowDoctype ? 'allowed' : 'refused',
  };
  const { XMLParser } = fastXmlParser();
  const parser = new XMLParser({
    ignoreAttributes: !config.attributes,
    attributeNamePrefix: attributePrefix,
    textNodeName: textNode,
    removeNSPrefix: config.stripNamespaces,
    // fast-xml-parser's own conversion (strnum) keeps digits by turning a number a double would
    // round into a string, and drops others (`10.50` → 10.5): typedValue converts instead.
    parseTagValue: false,
    parseAttributeValue: false,
    ...(config.parseValues ? { tagValueProcessor: typedValue, attributeValueProcessor: typedValue } : {}),
    trimValues: true,
    ignoreDeclaration: true,
    ignorePiTags: true,
    processEntities: true,
    entityDecoder: xmlEntityDecoder,
    isArray: arrayMatcher(config.alwaysArray, soap),
    // Callbacks get the parser's path matcher instead of a path string built for every element
    // (half the parse time); isArray renders it only when there are alwaysArray paths.
    jPath: false,
    // The scan enforces maxDepth exactly; this is the parser's own backstop.
    maxNestedTags: config.maxDepth + 1,
  });
  return (bytes, contentType) => {
    const text = decodeText(bytes, contentType, step);
    const scan = check(text, limits, step);
    let doc: Record<string, unknown>;
    try {
      doc = parser.parse(text) as Record<string, unknown>;
    } catch (error) {
      throw malformed(step, 'XML', at(parserMessage(error), undefined));
    }
    return soap ? unwrapSoap(doc, scan, attributePrefix, textNode, step) : doc;
  };
}

/** Counts a refusal by the setting that made it (`maxElements`, `allowDoctype`, …), then passes it on. */
function countRefusal(runtime: StepRuntime | undefined, routeId: string): (error: unknown) => unknown {
  return (error) => {
    const limit = error instanceof HookrelayError ? error.params.limit : undefined;
    if (typeof limit === 'string') runtime?.metrics?.xmlLimitRefusals.inc({ route: routeId, limit });
    return error;
  };
}

/** Types that are plainly another format; anything else (text/plain, none, octet-stream) is tried. */
function refused(contentType: string | undefined): boolean {
  const type = mediaType(contentType);
  return (
    isJson(contentType) ||
    type === 'application/x-www-form-urlencoded' ||
    type.startsWith('multipart/') ||
    /^(image|audio|video|font)\//.test(type)
  );
}

/**
 * Bytes to text: a byte order mark wins, then the Content-Type charset, then the encoding in the
 * XML declaration (XML 1.0 Appendix F), else UTF-8. Undecodable bytes are refused, not replaced.
 */
function decodeText(bytes: Buffer, contentType: string | undefined, step: string): string {
  let label = bomEncoding(bytes);
  let fromHeader = false;
  if (!label) {
    label = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1];
    fromHeader = label !== undefined;
  }
  label ??= declaredEncoding(bytes) ?? 'utf-8';
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(label, { fatal: true });
  } catch {
    if (fromHeader) throw unsupported(step, contentType, `${EXPECTED} in a character set Node can decode`);
    throw malformed(step, 'XML', at(`unknown encoding '${label}' in the XML declaration`, undefined));
  }
  try {
    return decoder.decode(bytes);
  } catch {
    throw malformed(step, 'XML', `the body is not valid ${decoder.encoding}`);
  }
}

function bomEncoding(bytes: Buffer): string | undefined {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return 'utf-8';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  return undefined;
}

function declaredEncoding(bytes: Buffer): string | undefined {
  const head = bytes.subarray(0, 200).toString('latin1');
  const label = /^<\?xml\s[^>]*?encoding\s*=\s*["']([A-Za-z][\w.-]*)["']/.exec(head)?.[1];
  // A document that reads as ASCII here is not UTF-16 whatever it declares (a BOM would say so).
  return label && !/^utf-?16/i.test(label) ? label : undefined;
}

/** The safety scan, then well-formedness; both report line and column. */
function check(text: string, limits: ScanLimits, step: string): ScanResult {
  let scan: ScanResult;
  try {
    scan = scanXml(text, limits);
  } catch (error) {
    if (!(error instanceof XmlScanError)) throw error;
    const reason = at(error.message, error.offset === undefined ? undefined : lineColumn(text, error.offset));
    if (error instanceof XmlLimitError) throw tooComplex(step, 'XML', reason, error.limit);
    throw malformed(step, 'XML', reason, error.limit);
  }
  const result = fastXmlParser().XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (result !== true) {
    const { msg, line, col } = result.err;
    const reason = msg === 'Start tag expected.' ? 'no root element' : msg.replace(/\.$/, '');
    throw malformed(step, 'XML', at(reason, col === undefined ? undefined : { line, column: col }));
  }
  return scan;
}

/** The reason (cut short: parsers quote the offending text, which the caller controls) and position. */
function at(reason: string, position: { line: number; column: number } | undefined): string {
  const short = reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON)}…` : reason;
  return position ? `${short} at line ${position.line}, column ${position.column}` : short;
}

function parserMessage(error: unknown): string {
  if (error instanceof XmlEntityError) return error.message;
  const message = error instanceof Error ? error.message : String(error);
  // fast-xml-parser refuses names that would reach Object.prototype (`__proto__`, `constructor`).
  return message.replace(
    /^\[SECURITY\] Invalid name: (".*?") is a .*$/,
    'element or attribute name $1 is not allowed',
  );
}

type IsArray = (name: string, jPath: unknown, isLeaf: boolean, isAttribute: boolean) => boolean;

/** `alwaysArray` paths, compared with the dotted path of each element (names as in the output). */
function arrayMatcher(paths: readonly string[], soap: boolean): IsArray {
  if (paths.length === 0) return () => false;
  const set = new Set(paths);
  return (_name, matcher, _isLeaf, isAttribute) => {
    if (isAttribute) return false;
    const jPath = (matcher as MatcherView).toString();
    if (set.has(jPath)) return true;
    if (!soap) return false;
    // With `soap`, a path may start below the Body: `OrderCreated.Line` for `Envelope.Body.OrderCreated.Line`.
    const first = jPath.indexOf('.');
    const second = jPath.indexOf('.', first + 1);
    return (
      first > 0 &&
      second > first &&
      localName(jPath.slice(0, first)) === 'Envelope' &&
      localName(jPath.slice(first + 1, second)) === 'Body' &&
      set.has(jPath.slice(second + 1))
    );
  };
}

/** An object of elements; with `parseValues`, a raw number (json.ts) is an object to `typeof`. */
const isRecord = isJsonObject;

const PLAIN_DECIMAL = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/;

/**
 * `parseValues`: `true`/`false` and decimals in plain JSON notation become JSON values, a number
 * with exactly the digits of the text (json.ts), so `5738291046618274931` and `10.50` arrive as
 * written. Anything else (`007`, `0x1F`, `1e5`, `+7`) stays text: undefined tells the parser so.
 */
function typedValue(_name: string, text: string, where: unknown): unknown {
  // Depth 0: the attributes of the XML declaration, which the parser reads itself (`version`).
  if ((where as MatcherView).getDepth() === 0) return undefined;
  const value = text.trim();
  if (value === 'true') return true;
  if (value === 'false') return false;
  return PLAIN_DECIMAL.test(value) ? exactNumber(value) : undefined;
}

/** `{ Envelope: { Header, Body: { OrderCreated } } }` → `{ OrderCreated }`, SOAP 1.1 or 1.2 only. */
function unwrapSoap(
  doc: Record<string, unknown>,
  scan: ScanResult,
  attributePrefix: string,
  textNode: string,
  step: string,
): Record<string, unknown> {
  const root = scan.root;
  if (!root || localName(root.name) !== 'Envelope') {
    throw failed(step, `soap: the root element is <${root?.name ?? ''}>, not a SOAP Envelope`);
  }
  const colon = root.name.indexOf(':');
  const declaration = colon === -1 ? 'xmlns' : `xmlns:${root.name.slice(0, colon)}`;
  const namespace = attributeValue(root.attributes, declaration);
  if (namespace === undefined || !SOAP_NAMESPACES[namespace]) {
    throw failed(
      step,
      `soap: the Envelope's namespace is ${namespace === undefined ? 'not declared' : `'${namespace}'`}, expected SOAP 1.1 (${Object.keys(SOAP_NAMESPACES).join(') or 1.2 (')})`,
    );
  }
  const envelope = Object.values(doc)[0];
  const bodyKey = isRecord(envelope)
    ? Object.keys(envelope).find((key) => !key.startsWith(attributePrefix) && localName(key) === 'Body')
    : undefined;
  if (!isRecord(envelope) || bodyKey === undefined) throw failed(step, 'soap: the Envelope has no Body');
  const body = envelope[bodyKey];
  if (Array.isArray(body)) throw failed(step, 'soap: the Envelope has more than one Body');
  if (body === '') return {};
  if (!isRecord(body)) throw failed(step, 'soap: the Body holds text, not a message element');
  const content: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (key !== textNode && !key.startsWith(attributePrefix)) content[key] = value;
  }
  return content;
}

/** One attribute of a start tag's raw attribute text. */
function attributeValue(attributes: string, name: string): string | undefined {
  for (const match of attributes.matchAll(/([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
    if (match[1] === name) return match[2] ?? match[3];
  }
  return undefined;
}
