import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HookrelayError } from '../../src/core/errors.ts';
import type { InboundMessage } from '../../src/core/message.ts';
import { transformSchema } from '../../src/transforms/index.ts';
import { type CompiledStep, runTransforms } from '../../src/transforms/run.ts';
import type { Payload, TransformContext } from '../../src/transforms/types.ts';
import { type Relay, startRelay, startTarget, type Target } from '../helpers.ts';
import { compile, inbound } from './support.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/transforms/xml');
const fixture = (name: string) => readFileSync(join(FIXTURES, name));
const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

function message(body: Buffer): InboundMessage {
  return inbound({ body });
}

async function runSteps(steps: CompiledStep[], payload: Payload) {
  const body = payload.kind === 'bytes' ? payload.bytes : Buffer.alloc(0);
  return runTransforms(steps, message(body), payload);
}

/** Runs one `xml-out` step over a value; resolves to the XML text (content type checked by callers). */
async function build(options: Record<string, unknown>, value: unknown) {
  const result = await runSteps(compile({ type: 'xml-out', ...options }), { kind: 'value', value });
  return { xml: result.body.toString('utf8'), contentType: result.contentType };
}

function failure(options: Record<string, unknown>, value: unknown): HookrelayError {
  const [{ step }] = compile({ type: 'xml-out', ...options }) as [CompiledStep];
  const ctx = { payload: { kind: 'value', value } } as unknown as TransformContext;
  let thrown: unknown;
  try {
    step.run(ctx);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(HookrelayError);
  return thrown as HookrelayError;
}

describe('xml-out: options (value in, XML out)', () => {
  const order = { Order: { '@id': '0004711', Line: [{ '@sku': 'A', '#text': '2' }, 'B'], Note: null } };

  it.each([
    [
      'defaults',
      {},
      order,
      `${DECLARATION}<Order id="0004711"><Line sku="A">2</Line><Line>B</Line><Note/></Order>`,
    ],
    ['declaration: false', { declaration: false }, { a: '1' }, '<a>1</a>'],
    [
      'root wraps a value with several keys',
      { root: 'Ack', declaration: false },
      { Status: 'OK', Id: 7 },
      '<Ack><Status>OK</Status><Id>7</Id></Ack>',
    ],
    [
      'root wraps a plain string',
      { root: 'Message', declaration: false },
      'hello',
      '<Message>hello</Message>',
    ],
    [
      'root with attributes and text of its own',
      { root: 'Total', declaration: false },
      { '@currency': 'EUR', '#text': 9.5 },
      '<Total currency="EUR">9.5</Total>',
    ],
    ['root around null is an empty element', { root: 'Empty', declaration: false }, null, '<Empty/>'],
    [
      'attributePrefix and textNode (Redpanda Connect style)',
      { attributePrefix: '-', textNode: '#value', declaration: false },
      { Total: { '-currency': 'EUR', '#value': '9.90' } },
      '<Total currency="EUR">9.90</Total>',
    ],
    [
      'numbers, booleans, -0, empty strings, empty objects and empty arrays',
      { declaration: false },
      { r: { n: 1.5, z: -0, t: true, f: false, s: '', o: {}, a: [], u: undefined } },
      '<r><n>1.5</n><z>-0</z><t>true</t><f>false</f><s></s><o></o></r>',
    ],
    [
      'an attribute whose value is true or null',
      { declaration: false },
      { r: { '@on': true, '@off': null } },
      '<r on="true"></r>',
    ],
    ['a single-element array at the top is the root', { declaration: false }, { r: ['x'] }, '<r>x</r>'],
    [
      'namespace prefixes and declarations are written as given',
      { declaration: false },
      { 'm:Order': { '@xmlns:m': 'urn:example', 'm:Id': '1' } },
      '<m:Order xmlns:m="urn:example"><m:Id>1</m:Id></m:Order>',
    ],
  ])('%s', async (_name, options, value, expected) => {
    const { xml, contentType } = await build(options, value);
    expect(xml).toBe(expected);
    expect(contentType).toBe('application/xml; charset=utf-8');
  });

  it('pretty indents by two spaces', async () => {
    const { xml } = await build({ pretty: true }, { a: { '@x': '1', b: ['1', '2'], c: { d: 'x' } } });
    expect(xml).toBe(
      `${DECLARATION}\n<a x="1">\n  <b>1</b>\n  <b>2</b>\n  <c>\n    <d>x</d>\n  </c>\n</a>\n`,
    );
  });

  it.each([
    ['1.1', 'http://schemas.xmlsoap.org/soap/envelope/', 'text/xml; charset=utf-8'],
    ['1.2', 'http://www.w3.org/2003/05/soap-envelope', 'application/soap+xml; charset=utf-8'],
  ])('soap %s wraps the value in an Envelope and Body, with its content type', async (version, ns, type) => {
    const { xml, contentType } = await build({ soap: version, root: 'Ack' }, { Status: 'OK' });
    expect(xml).toBe(
      `${DECLARATION}<soap:Envelope xmlns:soap="${ns}"><soap:Body><Ack><Status>OK</Status></Ack></soap:Body></soap:Envelope>`,
    );
    expect(contentType).toBe(type);
  });

  it('soap accepts the version as a YAML number, and a Body with several elements', async () => {
    const config = transformSchema.parse({ type: 'xml-out', soap: 1.2 });
    expect(config).toMatchObject({ soap: '1.2' });
    const { xml } = await build({ soap: 1.1, declaration: false }, { A: '1', B: '2' });
    expect(xml).toContain('<soap:Body><A>1</A><B>2</B></soap:Body>');
  });

  it('contentType overrides the default', async () => {
    expect((await build({ contentType: 'text/xml; charset=utf-8' }, { a: 1 })).contentType).toBe(
      'text/xml; charset=utf-8',
    );
    expect((await build({ soap: '1.2', contentType: 'application/xml' }, { a: 1 })).contentType).toBe(
      'application/xml',
    );
  });
});

describe('xml-out: escaping', () => {
  it('escapes text: &, <, > (so ]]> cannot occur) and CR', async () => {
    const { xml } = await build({ declaration: false }, { a: 'Tom & "Jerry" <b>x</b> ]]> \'q\'\r\nend' });
    expect(xml).toBe('<a>Tom &amp; "Jerry" &lt;b&gt;x&lt;/b&gt; ]]&gt; \'q\'&#13;\nend</a>');
  });

  it('escapes attribute values: both quotes, &, <, > and white space that normalisation would change', async () => {
    const { xml } = await build({ declaration: false }, { a: { '@q': `"it's" <&>\ttab\nline\r` } });
    expect(xml).toBe('<a q="&quot;it&apos;s&quot; &lt;&amp;&gt;&#9;tab&#10;line&#13;"></a>');
  });

  it('a value that looks like markup or a reference is text, never markup', async () => {
    const { xml } = await build(
      { declaration: false },
      { a: { '#text': '<!--x--><![CDATA[y]]>&amp;', '@v': '&#65;' } },
    );
    expect(xml).toBe('<a v="&amp;#65;">&lt;!--x--&gt;&lt;![CDATA[y]]&gt;&amp;amp;</a>');
  });

  it('refuses the names the xml step refuses (__proto__, constructor), touching no prototype', () => {
    const error = failure({}, JSON.parse('{"r":{"__proto__":{"polluted":"yes"}}}'));
    expect(error.status).toBe(422);
    expect(error.message).toContain("'r.__proto__': the element name '__proto__' is reserved");
    expect(failure({ root: 'r' }, { constructor: 1 }).status).toBe(422);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('xml-out: values XML cannot express fail with 422', () => {
  const deep = (levels: number): unknown => (levels === 0 ? 'x' : { d: deep(levels - 1) });

  it.each([
    [
      'several top-level keys without root',
      {},
      { a: 1, b: 2 },
      'the value has 2 top-level keys (a, b): XML has one root element, set `root` to wrap it',
    ],
    [
      'an empty object without root',
      {},
      {},
      'the value has no elements: XML has one root element, set `root` to wrap it',
    ],
    ['an attribute at the top without root', {}, { '@a': '1' }, 'the value has 1 top-level keys (@a)'],
    [
      'a top-level array of several elements',
      {},
      { a: [1, 2] },
      "'a' is an array of 2: XML has one root element",
    ],
    ['a string without root', {}, 'text', 'the value is a string, not an object: set `root` to wrap it'],
    ['an array with root', { root: 'r' }, [1, 2], 'the value is an array: map it into an object first'],
    [
      'a key that is not an XML name',
      {},
      { r: { 'first name': 'x' } },
      "'first name' (at r.first name) is not a valid XML element name",
    ],
    ['a key starting with a digit', {}, { '1st': 'x' }, "'1st' is not a valid XML element name"],
    [
      'an attribute name that is not an XML name',
      {},
      { r: { '@a b': 'x' } },
      "'r.@a b': 'a b' is not a valid XML attribute name",
    ],
    [
      'an array inside an array',
      {},
      { r: { a: [[1], [2]] } },
      "'r.a[0]': XML cannot hold an array inside an array",
    ],
    [
      'an object as an attribute',
      {},
      { r: { '@a': { b: 1 } } },
      "'r.@a' is an object: an attribute or text must be a string, number or boolean",
    ],
    ['an object as text', {}, { r: { '#text': [1] } }, "'r.#text' is an array: an attribute or text must be"],
    ['a control character', {}, { r: 'bell\u0007' }, "'r' contains a character XML cannot carry"],
    ['a lone surrogate', {}, { r: { '@a': '\ud800' } }, "'r.@a' contains a character XML cannot carry"],
    ['a function (from a jsonata step)', {}, { r: () => 1 }, "'r' is a function, not a JSON value"],
    [
      'a value nested deeper than 256 levels',
      {},
      { r: deep(300) },
      'the value is nested deeper than 256 levels',
    ],
  ])('%s', (_name, options, value, reason) => {
    const error = failure(options, value);
    expect(error.status).toBe(422);
    expect(error.code).toBe('HOOKRELAY_ERR_TRANSFORM_FAILED');
    expect(error.message).toContain(`transform[0] (xml-out): ${reason}`);
  });
});

describe('xml-out: error messages', () => {
  it('cut a long key from the value short', () => {
    const error = failure({}, { r: { [`bad key ${'x'.repeat(100_000)}`]: 1 } });
    expect(error.status).toBe(422);
    expect(error.message.length).toBeLessThan(300);
    expect(error.message).toMatch(/…$/);
  });
});

describe('xml-out: input', () => {
  it('reads a JSON body directly', async () => {
    const bytes = Buffer.from('{"Ack":{"Status":"OK"}}');
    const result = await runSteps(compile({ type: 'xml-out', declaration: false }), {
      kind: 'bytes',
      bytes,
      contentType: 'application/json',
    });
    expect(result.body.toString()).toBe('<Ack><Status>OK</Status></Ack>');
    expect(result.contentType).toBe('application/xml; charset=utf-8');
  });

  it('refuses an XML body that no xml step parsed, with 415', async () => {
    const bytes = Buffer.from('<a/>');
    const error = await runSteps(compile({ type: 'xml-out' }), {
      kind: 'bytes',
      bytes,
      contentType: 'text/xml',
    }).then(
      () => undefined,
      (e: { error: HookrelayError }) => e.error,
    );
    expect(error?.status).toBe(415);
  });
});

describe('xml-out: round trip with the xml step', () => {
  it.each([
    ['order.xml', {}],
    ['order.xml', { attributePrefix: '-', textNode: '#value' }],
    ['order.xml', { stripNamespaces: false }],
    ['soap12.xml', {}],
  ])('xml → xml-out → xml gives the same value (%s, %j)', async (file, conventions) => {
    const read = compile({ type: 'xml', ...conventions });
    const first = await runSteps(read, { kind: 'bytes', bytes: fixture(file), contentType: 'text/xml' });
    const { stripNamespaces: _, ...outConventions } = conventions as Record<string, unknown>;
    const written = await runSteps(compile({ type: 'xml-out', ...outConventions }), {
      kind: 'value',
      value: first.value,
    });
    const second = await runSteps(read, {
      kind: 'bytes',
      bytes: written.body,
      contentType: written.contentType,
    });
    expect(second.value).toEqual(first.value);
  });

  it('a SOAP message survives unwrap and re-wrap', async () => {
    const steps = compile(
      { type: 'xml', soap: true },
      { type: 'xml-out', soap: '1.2' },
      { type: 'xml', soap: true },
    );
    const once = await runSteps(steps.slice(0, 1), {
      kind: 'bytes',
      bytes: fixture('soap12.xml'),
      contentType: 'text/xml',
    });
    const twice = await runSteps(steps, {
      kind: 'bytes',
      bytes: fixture('soap12.xml'),
      contentType: 'text/xml',
    });
    expect(twice.value).toEqual(once.value);
  });
});

describe('xml-out: configuration', () => {
  const issues = (options: Record<string, unknown>) => {
    const result = transformSchema.safeParse({ type: 'xml-out', ...options });
    return result.success
      ? []
      : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  };

  it('has the documented defaults', () => {
    expect(transformSchema.parse({ type: 'xml-out' })).toEqual({
      type: 'xml-out',
      declaration: true,
      attributePrefix: '@',
      textNode: '#text',
      pretty: false,
    });
  });

  it.each([
    [{ root: 'my root' }, 'root: must be a valid XML element name'],
    [{ root: '1a' }, 'root: must be a valid XML element name'],
    [{ soap: '1.3' }, 'soap: '],
    [{ soap: 2 }, 'soap: '],
    [{ contentType: 'xml' }, 'contentType: must be a media type'],
    [{ contentType: 'text/xml\r\nX-Injected: 1' }, 'contentType: must be a media type'],
    [{ textNode: '@text' }, "textNode: must not start with the attribute prefix '@'"],
    [{ attributePrefix: 'a' }, 'attributePrefix: must not start with a character an XML name can start with'],
  ])('refuses %j', (options, expected) => {
    expect(issues(options).some((issue) => issue.startsWith(expected))).toBe(true);
  });
});

describe('xml-out: through the relay', () => {
  let target: Target;
  let relay: Relay;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
  });

  it('forwards a JSON event to the target as a SOAP 1.1 request', async () => {
    target = await startTarget();
    relay = await startRelay(`
routes:
  - id: to-soap
    path: /in/event
    forward:
      url: ${target.url}/soap
    transform:
      - type: xml-out
        soap: 1.1
        root: OrderConfirmation
`);
    const res = await fetch(`${relay.url}/in/event`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ '@id': '0004711', Status: 'confirmed', Note: 'A & B' }),
    });
    expect(res.status).toBe(200);
    const received = target.received[0]!;
    expect(received.headers['content-type']).toBe('text/xml; charset=utf-8');
    expect(received.body.toString('utf8')).toBe(
      `${DECLARATION}<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><OrderConfirmation id="0004711"><Status>confirmed</Status><Note>A &amp; B</Note></OrderConfirmation></soap:Body></soap:Envelope>`,
    );
  });
});
