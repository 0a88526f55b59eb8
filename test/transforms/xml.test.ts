import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HookrelayError } from '../../src/core/errors.ts';
import type { InboundMessage } from '../../src/core/message.ts';
import { transformRegistry, transformSchema } from '../../src/transforms/index.ts';
import { type CompiledStep, runTransforms } from '../../src/transforms/run.ts';
import type { Payload, TransformContext } from '../../src/transforms/types.ts';
import { type Relay, sample, startRelay, startTarget, type Target } from '../helpers.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/transforms/xml');
const fixture = (name: string) => readFileSync(join(FIXTURES, name));
const json = (name: string) => JSON.parse(fixture(name).toString('utf8')) as unknown;

function compile(options: Record<string, unknown>): CompiledStep[] {
  const config = transformSchema.parse({ type: 'xml', ...options });
  const info = { routeId: 'r', index: 0, name: 'transform[0] (xml)' };
  return [{ info, step: transformRegistry.create(config, info) }];
}

function message(body: Buffer): InboundMessage {
  return {
    requestId: 'rid',
    routeId: 'r',
    method: 'POST',
    path: '/in',
    params: {},
    query: new URLSearchParams(),
    rawQuery: '',
    headers: {},
    body,
    clientIp: '127.0.0.1',
    receivedAt: 0,
  };
}

/** Runs an `xml` step through the transform runner; resolves to the forwarded JSON value. */
async function run(
  options: Record<string, unknown>,
  body: string | Buffer,
  contentType: string | undefined = 'application/xml',
): Promise<unknown> {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const result = await runTransforms(compile(options), message(bytes), { kind: 'bytes', bytes, contentType });
  expect(result.contentType).toBe('application/json');
  return JSON.parse(result.body.toString('utf8'));
}

/** Runs the step itself (no runner) so the error is exactly what the step threw. */
function failure(
  options: Record<string, unknown>,
  body: string | Buffer,
  contentType: string | undefined = 'application/xml',
  payload?: Payload,
): HookrelayError {
  const [{ step }] = compile(options) as [CompiledStep];
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const ctx = {
    payload: payload ?? { kind: 'bytes', bytes, contentType },
    setHeaders: {},
    removeHeaders: new Set(),
  } as unknown as TransformContext;
  let thrown: unknown;
  try {
    step.run(ctx);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(HookrelayError);
  return thrown as HookrelayError;
}

describe('xml: options (fixture in, JSON out)', () => {
  it.each([
    ['defaults: prefixes stripped, attributes as @keys, text as #text, strings kept', {}, 'order.json'],
    [
      'attributes: false drops them; an element with only text becomes the text',
      { attributes: false },
      'order.no-attributes.json',
    ],
    [
      'attributePrefix and textNode (Redpanda Connect style)',
      { attributePrefix: '-', textNode: '#value' },
      'order.redpanda.json',
    ],
    [
      'stripNamespaces: false keeps prefixes and xmlns declarations',
      { stripNamespaces: false },
      'order.namespaces.json',
    ],
    [
      'alwaysArray: named elements are arrays even when one arrives',
      { alwaysArray: ['Order.Customer', 'Order.Note', 'Order.Line'] },
      'order.always-array.json',
    ],
    [
      'parseValues: numbers and booleans converted, leading zeros kept',
      { parseValues: true },
      'order.parse-values.json',
    ],
  ])('%s', async (_name, options, expected) => {
    expect(await run(options, fixture('order.xml'))).toEqual(json(expected));
  });

  it('keeps leading zeros, CDATA and entities by default', async () => {
    const value = (await run({}, fixture('order.xml'))) as { Order: Record<string, unknown> };
    expect(value.Order['@id']).toBe('0004711');
    expect((value.Order.Customer as Record<string, unknown>).Zip).toBe('01067');
    expect(value.Order.Note).toBe('Ship <fast> & "careful"');
  });

  it('alwaysArray paths name elements, not attributes, and follow stripNamespaces', async () => {
    const xml = '<a:r xmlns:a="u" id="1"><a:x>1</a:x></a:r>';
    expect(await run({ alwaysArray: ['r.x', 'r.id'] }, xml)).toEqual({ r: { x: ['1'], '@id': '1' } });
    expect(await run({ alwaysArray: ['a:r.a:x'], stripNamespaces: false }, xml)).toEqual({
      'a:r': { 'a:x': ['1'], '@xmlns:a': 'u', '@id': '1' },
    });
  });

  it('parseValues leaves hex, exponents, signs and leading zeros as strings (numbers: numbers.test.ts)', async () => {
    const xml = '<r><a>0x1F</a><b>1e5</b><c>007</c><d>+4</d><e>-4.5</e><f>0</f><g>false</g><h>True</h></r>';
    expect(await run({ parseValues: true }, xml)).toEqual({
      r: { a: '0x1F', b: '1e5', c: '007', d: '+4', e: -4.5, f: 0, g: false, h: 'True' },
    });
  });

  it.each([
    ['CDATA is text, not parsed', '<a><![CDATA[<b>&amp;</b>]]></a>', { a: '<b>&amp;</b>' }],
    ['CDATA merges with the text around it', '<a>x <![CDATA[ y ]]> z</a>', { a: 'x y z' }],
    ['an empty CDATA section', '<a><![CDATA[]]></a>', { a: '' }],
    [
      'CDATA beside child elements goes to #text',
      '<a><b>1</b><![CDATA[t]]></a>',
      { a: { b: '1', '#text': 't' } },
    ],
    [
      'predefined entities and character references',
      '<a q="&quot;&#65;">&lt;&gt;&amp;&apos;&#x20AC;&#8364;</a>',
      {
        a: { '@q': '"A', '#text': "<>&'€€" },
      },
    ],
    ['references are decoded once', '<a>&amp;lt;</a>', { a: '&lt;' }],
    [
      'comments and processing instructions are dropped',
      '<?xml version="1.0"?><!--c--><a><?pi x?>t<!--d--></a>',
      { a: 't' },
    ],
    ['text is trimmed', '<a>\n  padded  \n</a>', { a: 'padded' }],
    ['an empty element is an empty string', '<a><b/><c></c></a>', { a: { b: '', c: '' } }],
    [
      'repeated elements become an array in document order',
      '<a><b>1</b><c/><b>2</b></a>',
      { a: { b: ['1', '2'], c: '' } },
    ],
    [
      'non-ASCII names and text',
      '<Bestellung Größe="M"><Straße>Hauptstraße 1</Straße></Bestellung>',
      {
        Bestellung: { '@Größe': 'M', Straße: 'Hauptstraße 1' },
      },
    ],
  ])('%s', async (_name, xml, expected) => {
    expect(await run({}, xml)).toEqual(expected);
  });
});

describe('xml: content types and encodings', () => {
  it.each([
    'application/xml',
    'text/xml; charset=utf-8',
    'application/soap+xml; charset=utf-8; action="urn:x"',
    'application/atom+xml',
    'text/plain',
    'application/octet-stream',
    undefined,
  ])('reads a body of type %s', async (type) => {
    expect(await run({}, '<a>1</a>', type)).toEqual({ a: '1' });
  });

  it.each([
    'application/json',
    'application/problem+json',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'image/png',
  ])('refuses a body of type %s with 415', (type) => {
    const error = failure({}, '<a>1</a>', type);
    expect(error.status).toBe(415);
    expect(error.code).toBe('HOOKRELAY_ERR_UNSUPPORTED_MEDIA_TYPE');
    expect(error.message).toContain('expected XML');
  });

  it('refuses a payload an earlier step already parsed, with 415', () => {
    const error = failure({}, '', undefined, { kind: 'value', value: { a: 1 } });
    expect(error.status).toBe(415);
    expect(error.message).toContain('an earlier step already parsed the body');
  });

  it('decodes the charset the Content-Type names', async () => {
    const bytes = Buffer.from('<a>M\xfcller</a>', 'latin1');
    expect(await run({}, bytes, 'text/xml; charset=ISO-8859-1')).toEqual({ a: 'Müller' });
  });

  it('decodes the encoding the XML declaration names', async () => {
    const bytes = Buffer.from('<?xml version="1.0" encoding="windows-1252"?><a>M\xfcller \x80</a>', 'latin1');
    expect(await run({}, bytes, 'application/xml')).toEqual({ a: 'Müller €' });
  });

  it('follows a byte order mark (UTF-16, UTF-8)', async () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<a>Zoë</a>', 'utf16le')]);
    expect(await run({}, utf16, 'text/xml')).toEqual({ a: 'Zoë' });
    const utf8 = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('<a>Zoë</a>')]);
    expect(await run({}, utf8, 'text/xml; charset=latin1')).toEqual({ a: 'Zoë' });
  });

  it('refuses bytes that are not valid in the encoding with 400', () => {
    const error = failure({}, Buffer.from('<a>M\xfcller</a>', 'latin1'));
    expect(error.status).toBe(400);
    expect(error.message).toContain('not valid utf-8');
  });

  it('refuses an unknown charset: 415 from the Content-Type, 400 from the declaration', () => {
    expect(failure({}, '<a/>', 'text/xml; charset=klingon').status).toBe(415);
    const declared = failure({}, '<?xml version="1.0" encoding="klingon"?><a/>');
    expect(declared.status).toBe(400);
    expect(declared.message).toContain("unknown encoding 'klingon'");
  });
});

describe('xml: soap', () => {
  it('unwraps SOAP 1.1 (any prefix); alwaysArray may start below the Body', async () => {
    const options = { soap: true, alwaysArray: ['notifications.Notification'] };
    expect(await run(options, fixture('soap11.xml'), 'text/xml; charset=utf-8')).toEqual(json('soap11.json'));
  });

  it('unwraps SOAP 1.2 and drops the Header', async () => {
    expect(await run({ soap: true }, fixture('soap12.xml'), 'application/soap+xml')).toEqual(
      json('soap12.json'),
    );
  });

  it('alwaysArray may also name the full path from the Envelope', async () => {
    const value = await run(
      { soap: true, alwaysArray: ['Envelope.Body.OrderCreated.Line'] },
      fixture('soap12.xml'),
    );
    expect(value).toMatchObject({ OrderCreated: { Line: [{ '#text': '2', '@sku': 'WIDGET-1' }] } });
  });

  it('works with stripNamespaces off: the keys keep their prefixes', async () => {
    const value = await run({ soap: true, stripNamespaces: false }, fixture('soap12.xml'));
    expect(Object.keys(value as object)).toEqual(['m:OrderCreated']);
    expect(value).toMatchObject({ 'm:OrderCreated': { 'm:OrderId': 'A-1001' } });
  });

  it('passes a Fault on as a value', async () => {
    expect(await run({ soap: true }, fixture('soap11-fault.xml'))).toEqual(json('soap11-fault.json'));
  });

  it('leaves out Body attributes and whitespace; an empty Body is {}', async () => {
    const ns = 'http://schemas.xmlsoap.org/soap/envelope/';
    const withAttribute = `<s:Envelope xmlns:s="${ns}"><s:Body s:encodingStyle="x" xmlns:m="u">\n <m:Ping/>\n</s:Body></s:Envelope>`;
    expect(await run({ soap: true }, withAttribute)).toEqual({ Ping: '' });
    expect(await run({ soap: true }, `<Envelope xmlns="${ns}"><Body/></Envelope>`)).toEqual({});
  });

  it.each([
    [
      'a document that is not an Envelope',
      fixture('order.xml').toString(),
      'the root element is <erp:Order>, not a SOAP Envelope',
    ],
    [
      'an Envelope in another namespace',
      '<s:Envelope xmlns:s="urn:not-soap"><s:Body><x/></s:Body></s:Envelope>',
      "namespace is 'urn:not-soap'",
    ],
    [
      'an Envelope without a namespace',
      '<Envelope><Body><x/></Body></Envelope>',
      'namespace is not declared',
    ],
    [
      'an Envelope without a Body',
      '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header/></s:Envelope>',
      'the Envelope has no Body',
    ],
    [
      'an Envelope with two Bodies',
      '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/><s:Body/></s:Envelope>',
      'more than one Body',
    ],
    [
      'a Body with text only',
      '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>hi</s:Body></s:Envelope>',
      'holds text',
    ],
  ])('fails %s with 422', (_name, xml, reason) => {
    const error = failure({ soap: true }, xml);
    expect(error.status).toBe(422);
    expect(error.code).toBe('HOOKRELAY_ERR_TRANSFORM_FAILED');
    expect(error.message).toContain('transform[0] (xml): soap: ');
    expect(error.message).toContain(reason);
  });
});

describe('xml: malformed bodies are refused with 400 and a position', () => {
  it.each([
    [
      'a mismatched closing tag',
      '<a>\n  <b>\n</a>',
      "Expected closing tag 'b' (opened in line 2, col 3) instead of closing tag 'a' at line 3, column 1",
    ],
    ['an unclosed element', '<a><b></b>', "Unclosed tag 'a' at line 1, column 1"],
    ['a truncated start tag', '<a>\n<b x="1"', 'start tag is not closed at line 2, column 1'],
    ['an unquoted attribute', '<a x=1></a>', "Attribute 'x' is without value at line 1, column 4"],
    ['a repeated attribute', '<a x="1" x="2"/>', "Attribute 'x' is repeated at line 1, column 10"],
    ['text after the root', '<a/>\ntrailing', 'text outside the root element at line 2, column 1'],
    ['text before the root', '\n x<a/>', 'text outside the root element at line 2, column 2'],
    ['CDATA after the root', '<a/><![CDATA[x]]>', 'CDATA outside the root element at line 1, column 5'],
    ['a second root element', '<a></a>\n<b/>', 'a second root element (XML has one) at line 2, column 1'],
    ['text that is not XML', 'hello', 'text outside the root element at line 1, column 1'],
    ['an unclosed comment', '<a>\n<!-- never ends</a>', 'comment is not closed at line 2, column 1'],
    ['an unclosed CDATA section', '<a><![CDATA[x</a>', 'CDATA section is not closed at line 1, column 4'],
    [
      'an unclosed processing instruction',
      '<a><?pi x</a>',
      'processing instruction is not closed at line 1, column 4',
    ],
    [
      'a bare ampersand',
      '<a>fish & chips</a>',
      "'&' must start an entity reference such as &amp; at line 1, column 9",
    ],
    ['an undefined entity', '<a>\n  &nbsp;</a>', 'undefined entity &nbsp; at line 2, column 3'],
    ['an undefined entity in an attribute', '<a x="&foo;"/>', 'undefined entity &foo; at line 1, column 7'],
    [
      'a reference to a character XML forbids',
      '<a>&#0;</a>',
      '&#0; is not a character XML allows at line 1, column 4',
    ],
    [
      'a reference to a lone surrogate',
      '<a>&#xD800;</a>',
      '&#xD800; is not a character XML allows at line 1, column 4',
    ],
    ['an empty character reference', '<a>&#;</a>', '&#; is not a character reference at line 1, column 4'],
    [
      'a declaration outside a DOCTYPE',
      '<a><!ENTITY x "y"></a>',
      "unexpected markup '<!ENTITY' at line 1, column 4",
    ],
    [
      'a DOCTYPE after the root',
      '<a/><!DOCTYPE a>',
      'a DOCTYPE is only allowed before the root element at line 1, column 5',
    ],
    [
      'an element named __proto__',
      '<a><__proto__>x</__proto__></a>',
      'element or attribute name "__proto__" is not allowed',
    ],
    ['no element at all', '<?xml version="1.0"?>', 'no root element'],
    ['an empty body', '', 'the body is empty'],
  ])('%s', (_name, xml, reason) => {
    const error = failure({}, xml);
    expect(error.status).toBe(400);
    expect(error.code).toBe('HOOKRELAY_ERR_MALFORMED_BODY');
    expect(error.message).toBe(`transform[0] (xml): malformed XML body: ${reason}`);
  });

  it('cuts a long quoted reason short (the caller controls it) but keeps the position', () => {
    const error = failure({}, `<a><${'<'.repeat(100_000)}></a>`);
    expect(error.status).toBe(400);
    expect(error.message.length).toBeLessThan(300);
    expect(error.message).toMatch(/… at line 1, column \d+$/);
  });

  it('reports positions after CRLF line ends too', () => {
    expect(failure({}, '<a>\r\n<b>\r\n</a>').message).toContain('at line 3, column 1');
  });
});

describe('xml: entities, DTDs and depth (untrusted input)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each([
    ['billion laughs', 'billion-laughs.xml'],
    ['an external entity (XXE)', 'xxe.xml'],
  ])('refuses %s at its DOCTYPE, before the parser runs', (_name, file) => {
    const parse = vi.spyOn(XMLParser.prototype, 'parse');
    const error = failure({}, fixture(file));
    expect(error.status).toBe(400);
    expect(error.message).toContain(
      'a DOCTYPE with an internal subset (entity declarations) is refused at line 2, column 1',
    );
    expect(parse).not.toHaveBeenCalled();
  });

  it('refuses a parameter-entity DTD and a huge entity table just the same', () => {
    const parameter = '<!DOCTYPE a [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]><a/>';
    expect(failure({}, parameter).message).toContain('internal subset');
    const many = Array.from({ length: 50_000 }, (_, i) => `<!ENTITY e${i} "${'x'.repeat(20)}">`).join('');
    expect(failure({}, `<!DOCTYPE a [${many}]><a>${'&e1;'.repeat(1000)}</a>`).message).toContain(
      'internal subset',
    );
  });

  it('never resolves an entity an external DTD might declare', () => {
    const error = failure({ allowDoctype: true }, '<!DOCTYPE a SYSTEM "file:///etc/passwd"><a>&passwd;</a>');
    expect(error.message).toContain('undefined entity &passwd;');
  });

  it('accepts nesting up to maxDepth and refuses one level more', async () => {
    const nest = (depth: number) => `${'<e>'.repeat(depth - 1)}<leaf/>${'</e>'.repeat(depth - 1)}`;
    await expect(run({}, nest(64))).resolves.toBeDefined();
    const error = failure({}, nest(65));
    expect(error.status).toBe(400);
    expect(error.message).toContain(
      'elements are nested deeper than the limit of 64 levels at line 1, column 193',
    );
    await expect(run({ maxDepth: 3 }, nest(3))).resolves.toEqual({ e: { e: { leaf: '' } } });
    expect(failure({ maxDepth: 3 }, nest(4)).message).toContain('limit of 3 levels');
  });

  it('refuses a very deep document without a stack overflow', () => {
    const deep = `${'<e>'.repeat(200_000)}${'</e>'.repeat(200_000)}`;
    expect(failure({ maxDepth: 1000 }, deep).message).toContain('limit of 1000 levels');
  });

  it('does not let element names reach Object.prototype', async () => {
    await run({}, '<a><hasOwnProperty>1</hasOwnProperty><toString>2</toString></a>');
    expect(failure({}, '<constructor><prototype/></constructor>').status).toBe(400);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('xml: configuration', () => {
  const issues = (options: Record<string, unknown>) => {
    const result = transformSchema.safeParse({ type: 'xml', ...options });
    return result.success
      ? []
      : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  };

  it('has the documented defaults', () => {
    expect(transformSchema.parse({ type: 'xml' })).toEqual({
      type: 'xml',
      attributes: true,
      attributePrefix: '@',
      textNode: '#text',
      stripNamespaces: true,
      alwaysArray: [],
      parseValues: false,
      soap: false,
      maxDepth: 64,
      maxElements: 50_000,
      maxAttributes: 50_000,
      maxTextNodes: 50_000,
      allowDoctype: false,
    });
  });

  it.each([
    [
      { attributePrefix: 'attr_' },
      'attributePrefix: must not start with a character an XML name can start with',
    ],
    [{ attributePrefix: '' }, 'attributePrefix: '],
    [{ textNode: 'text' }, 'textNode: must not be a valid XML element name'],
    [{ textNode: '@text' }, "textNode: must not start with the attribute prefix '@'"],
    [{ alwaysArray: ['a..b'] }, 'alwaysArray.0: must be element names separated by dots'],
    [{ alwaysArray: [''] }, 'alwaysArray.0: must be element names separated by dots'],
    [{ maxDepth: 0 }, 'maxDepth: '],
    [{ soap: 'yes' }, 'soap: '],
    [{ unknown: true }, ''],
  ])('refuses %j', (options, message) => {
    const found = issues(options);
    expect(found.length).toBeGreaterThan(0);
    expect(found.some((issue) => issue.startsWith(message))).toBe(true);
  });
});

describe('xml: through the relay', () => {
  let target: Target;
  let relay: Relay;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
  });

  const yaml = (url: string) => `
routes:
  - id: crm-soap
    path: /in/crm
    forward:
      url: ${url}/hook
    transform:
      - type: xml
        soap: true
`;

  it('forwards a SOAP request to the target as JSON', async () => {
    target = await startTarget();
    relay = await startRelay(yaml(target.url));
    const res = await fetch(`${relay.url}/in/crm`, {
      method: 'POST',
      headers: { 'content-type': 'application/soap+xml; charset=utf-8' },
      body: fixture('soap12.xml'),
    });
    expect(res.status).toBe(200);
    expect(target.received).toHaveLength(1);
    const received = target.received[0]!;
    expect(received.headers['content-type']).toBe('application/json');
    expect(JSON.parse(received.body.toString('utf8'))).toEqual(json('soap12.json'));
  });

  it('answers malformed XML with 400, forwards nothing and counts the error', async () => {
    target = await startTarget();
    relay = await startRelay(yaml(target.url));
    const res = await fetch(`${relay.url}/in/crm`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: fixture('billion-laughs.xml'),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ error: 'HOOKRELAY_ERR_MALFORMED_BODY', route: 'crm-soap', status: 400 });
    expect(String(body.message)).toContain('transform[0] (xml): malformed XML body: a DOCTYPE');
    expect(target.received).toHaveLength(0);
    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    expect(sample(metrics, 'hookrelay_transform_errors_total', { route: 'crm-soap', step: '0-xml' })).toBe(1);
  });
});
