import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { ConfigError, formatConfigIssue, HookrelayError } from '../../src/core/errors.ts';
import { transformRegistry, transformSchema } from '../../src/transforms/index.ts';
import type { TransformContext } from '../../src/transforms/types.ts';
import { type Relay, sample, startRelay, startTarget, type Target } from '../helpers.ts';

/**
 * What an `xml` step lets through before fast-xml-parser builds anything (issue 11, items 4 and
 * 16): element, attribute and text-node counts bounded in the linear pre-scan, and no DOCTYPE
 * unless `allowDoctype` (never in SOAP).
 */

const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';

/** Runs one `xml` step on a body; the value it produced, or the HookrelayError it threw. */
async function xml(options: Record<string, unknown>, body: string | Buffer): Promise<unknown> {
  const config = transformSchema.parse({ type: 'xml', ...options });
  const step = transformRegistry.create(config, { routeId: 'r', index: 0, name: 'transform[0] (xml)' });
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const ctx = {
    payload: { kind: 'bytes', bytes, contentType: 'text/xml' },
    setHeaders: {},
    removeHeaders: new Set(),
  } as unknown as TransformContext;
  try {
    await step.run(ctx);
  } catch (error) {
    if (error instanceof HookrelayError) return error;
    throw error;
  }
  return (ctx.payload as { value: unknown }).value;
}

async function refusal(options: Record<string, unknown>, body: string | Buffer): Promise<HookrelayError> {
  const result = await xml(options, body);
  expect(result).toBeInstanceOf(HookrelayError);
  return result as HookrelayError;
}

/** The 0.94 MB SOAP body of the issue: 120,000 small elements in one message. */
const FLOOD_START = `<s:Envelope xmlns:s="${SOAP11}"><s:Body><OrderCreated>`;
function flood(elements = 120_000): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${FLOOD_START}${'<L>1</L>'.repeat(elements - 3)}</OrderCreated></s:Body></s:Envelope>`;
}

/** A legacy ERP's SOAP batch: `lines` order lines, pretty-printed, with attributes. */
function erpBatch(lines: number): string {
  const line = (i: number) =>
    `\n      <Line no="${i + 1}" sku="WIDGET-${i}" uom="EA">\n        <Qty>2</Qty>\n        <Price currency="EUR">9.99</Price>\n        <Description>Widget ${i} &amp; fittings</Description>\n        <Delivery date="2025-03-31" plant="1000"/>\n      </Line>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="${SOAP11}">
  <soapenv:Header><Auth>x</Auth></soapenv:Header>
  <soapenv:Body>
    <OrderBatch xmlns="urn:erp:orders" batch="B-1" created="2025-03-01T10:00:00Z">${Array.from({ length: lines }, (_, i) => line(i)).join('')}
    </OrderBatch>
  </soapenv:Body>
</soapenv:Envelope>`;
}

describe('xml: element, attribute and text-node limits', () => {
  it('refuses the 120,000-element body of the issue with 413 at the element over the limit', async () => {
    const error = await refusal({ soap: true }, flood());
    expect(error.status).toBe(413);
    expect(error.code).toBe('HOOKRELAY_ERR_BODY_TOO_COMPLEX');
    // The 50,001st element is the 49,998th <L>: found by the scan, which stops there.
    const column = FLOOD_START.length + 49_997 * 8 + 1;
    expect(error.message).toBe(
      `transform[0] (xml): the XML body is too complex: more than 50000 elements (maxElements) at line 2, column ${column}`,
    );
  });

  it('lets a legacy ERP batch of 4,000 lines with attributes through with the defaults', async () => {
    // 20,005 elements, 24,004 attributes and 12,001 text nodes in 0.94 MB (the default body limit is 1 MB).
    const body = erpBatch(4_000);
    expect(Buffer.byteLength(body)).toBeLessThan(1024 * 1024);
    const value = (await xml({ soap: true }, body)) as { OrderBatch: { Line: unknown[] } };
    expect(value.OrderBatch.Line).toHaveLength(4_000);
    expect(value.OrderBatch.Line[3_999]).toMatchObject({ '@no': '4000', Qty: '2' });
  });

  it.each([
    ['maxElements', 'elements', (n: number) => `<r>${'<a/>'.repeat(n - 1)}</r>`],
    ['maxAttributes', 'attributes', (n: number) => `<r>${'<a x="1"/>'.repeat(n)}</r>`],
    ['maxTextNodes', 'text nodes', (n: number) => `<r>${'<a>t</a>'.repeat(n)}</r>`],
  ])('%s: exactly the limit is accepted, one more is refused', async (key, unit, document) => {
    expect(await xml({ [key]: 10 }, document(10))).not.toBeInstanceOf(HookrelayError);
    const error = await refusal({ [key]: 10 }, document(11));
    expect(error.status).toBe(413);
    expect(error.message).toContain(`more than 10 ${unit} (${key}) at line 1, column `);
  });

  it('counts attributes in either quote, with any spacing, and namespace declarations', async () => {
    const doc = `<r xmlns:p='u' a = "1" p:b='x>y' c="it's"/>`;
    expect(await xml({ maxAttributes: 4 }, doc)).not.toBeInstanceOf(HookrelayError);
    expect((await refusal({ maxAttributes: 3 }, doc)).message).toContain('more than 3 attributes');
  });

  it('counts text runs between markup and CDATA sections, not white space between elements', async () => {
    const indented = '<r>\n  <a>1</a>\n  <b>2</b>\n</r>';
    expect(await xml({ maxTextNodes: 2 }, indented)).toEqual({ r: { a: '1', b: '2' } });
    // Three runs of text split by comments, and a CDATA section, are four text nodes.
    const split = '<r>x<!--c-->y<!--c-->z<![CDATA[w]]></r>';
    expect(await xml({ maxTextNodes: 4 }, split)).toEqual({ r: 'xyzw' });
    expect((await refusal({ maxTextNodes: 3 }, split)).message).toContain('more than 3 text nodes');
  });

  it('refuses a flood of comment-separated text (one element, 100,000 text nodes)', async () => {
    const error = await refusal({}, `<r>${'x<!---->'.repeat(100_000)}</r>`);
    expect(error.status).toBe(413);
    expect(error.message).toContain('more than 50000 text nodes (maxTextNodes)');
  });

  it('raising the limits lets the 120,000-element body through (it has as many text nodes)', async () => {
    expect((await refusal({ soap: true, maxElements: 200_000 }, flood())).message).toContain(
      'more than 50000 text nodes (maxTextNodes)',
    );
    const value = (await xml({ soap: true, maxElements: 200_000, maxTextNodes: 200_000 }, flood())) as {
      OrderCreated: { L: string[] };
    };
    expect(value.OrderCreated.L).toHaveLength(119_997);
  });

  it('has defaults and bounds in the schema', () => {
    const config = transformSchema.parse({ type: 'xml' });
    expect(config).toMatchObject({
      maxElements: 50_000,
      maxAttributes: 50_000,
      maxTextNodes: 50_000,
      allowDoctype: false,
    });
    for (const key of ['maxElements', 'maxAttributes', 'maxTextNodes']) {
      expect(transformSchema.safeParse({ type: 'xml', [key]: 0 }).success).toBe(false);
      expect(transformSchema.safeParse({ type: 'xml', [key]: 1.5 }).success).toBe(false);
    }
  });
});

describe('xml: DOCTYPE', () => {
  it('refuses a DOCTYPE without an internal subset by default, with its position', async () => {
    const error = await refusal(
      {},
      '<?xml version="1.0"?>\n<!DOCTYPE a SYSTEM "http://127.0.0.1:9/x.dtd"><a>t</a>',
    );
    expect(error.status).toBe(400);
    expect(error.code).toBe('HOOKRELAY_ERR_MALFORMED_BODY');
    expect(error.message).toBe(
      'transform[0] (xml): malformed XML body: a DOCTYPE is refused (allowDoctype is off) at line 2, column 1',
    );
    expect((await refusal({}, '<!DOCTYPE a><a/>')).message).toContain('a DOCTYPE is refused');
  });

  it('refuses a DOCTYPE in a SOAP message, whatever it holds (SOAP 1.1 §3, SOAP 1.2 part 1 §5)', async () => {
    const envelope = `<!DOCTYPE Envelope PUBLIC "-//x//y" "x.dtd">\n<s:Envelope xmlns:s="${SOAP11}"><s:Body><Ping/></s:Body></s:Envelope>`;
    const error = await refusal({ soap: true }, envelope);
    expect(error.status).toBe(400);
    expect(error.message).toBe(
      'transform[0] (xml): malformed XML body: a SOAP message must not contain a DOCTYPE at line 1, column 1',
    );
  });

  it('allowDoctype accepts one without an internal subset and ignores it; never an internal subset', async () => {
    const external = '<!DOCTYPE a SYSTEM "http://127.0.0.1:9/x.dtd"><a>t</a>';
    expect(await xml({ allowDoctype: true }, external)).toEqual({ a: 't' });
    expect(await xml({ allowDoctype: true }, '<!DOCTYPE a>\n<a/>')).toEqual({ a: '' });
    const subset = await refusal({ allowDoctype: true }, '<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>');
    expect(subset.status).toBe(400);
    expect(subset.message).toContain('a DOCTYPE with an internal subset (entity declarations) is refused');
    const unresolved = await refusal(
      { allowDoctype: true },
      '<!DOCTYPE a SYSTEM "file:///etc/passwd"><a>&passwd;</a>',
    );
    expect(unresolved.message).toContain('undefined entity &passwd;');
  });

  it('names the internal subset whatever allowDoctype says (billion laughs, XXE)', async () => {
    const laughs = '<!DOCTYPE lolz [<!ENTITY lol "lol">]><lolz>&lol;</lolz>';
    expect((await refusal({}, laughs)).message).toContain('internal subset');
    expect((await refusal({ soap: true }, laughs)).message).toContain('internal subset');
  });

  it('soap with allowDoctype is a config error naming the key, at its line', () => {
    const yaml = `routes:
  - id: erp
    path: /in
    forward: { url: "http://127.0.0.1:9/" }
    transform:
      - type: xml
        soap: true
        allowDoctype: true
`;
    let issues: string[] = [];
    try {
      parseConfig(yaml, 'hookrelay.yaml', { env: {} });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      issues = error.issues.map(formatConfigIssue);
    }
    expect(issues).toEqual([
      'hookrelay.yaml:8:9: routes[0].transform[0].allowDoctype: must not be true with `soap: true`: a SOAP message must not contain a DOCTYPE (SOAP 1.1 §3, SOAP 1.2 part 1 §5) [HOOKRELAY_CONFIG_CONFLICT]',
    ]);
  });
});

describe('xml limits: through the relay', () => {
  let target: Target;
  let relay: Relay;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
  });

  it('answers 413 with the JSON error, counts the limit and logs it; nothing is forwarded', async () => {
    target = await startTarget();
    relay = await startRelay(`
routes:
  - id: erp-soap
    path: /in/erp
    forward:
      url: ${target.url}/hook
    transform:
      - type: xml
        soap: true
`);
    const res = await fetch(`${relay.url}/in/erp`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8', 'x-request-id': 'flood-1' },
      body: flood(),
    });
    expect(res.status).toBe(413);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      error: 'HOOKRELAY_ERR_BODY_TOO_COMPLEX',
      status: 413,
      route: 'erp-soap',
      requestId: 'flood-1',
    });
    expect(String(body.message)).toContain('more than 50000 elements (maxElements)');
    expect(target.received).toHaveLength(0);
    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    expect(
      sample(metrics, 'hookrelay_xml_limit_refusals_total', { route: 'erp-soap', limit: 'maxElements' }),
    ).toBe(1);
    expect(sample(metrics, 'hookrelay_errors_total', { code: 'HOOKRELAY_ERR_BODY_TOO_COMPLEX' })).toBe(1);
    const line = relay.logs.find((l) => l.msg === 'request' && l.requestId === 'flood-1');
    expect(line).toMatchObject({
      status: 413,
      code: 'HOOKRELAY_ERR_BODY_TOO_COMPLEX',
      step: 'transform[0] (xml)',
    });
    expect(String(line?.error)).toContain('(maxElements)');
  });

  it('counts a refused DOCTYPE and a depth refusal by their limit too', async () => {
    target = await startTarget();
    relay = await startRelay(`
routes:
  - id: plain
    path: /in/plain
    forward:
      url: ${target.url}/hook
    transform:
      - type: xml
        maxDepth: 2
`);
    const post = (body: string) =>
      fetch(`${relay.url}/in/plain`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body });
    expect((await post('<!DOCTYPE a><a/>')).status).toBe(400);
    expect((await post('<a><b><c/></b></a>')).status).toBe(400);
    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    const count = (limit: string) =>
      sample(metrics, 'hookrelay_xml_limit_refusals_total', { route: 'plain', limit });
    expect(count('allowDoctype')).toBe(1);
    expect(count('maxDepth')).toBe(1);
  });
});
