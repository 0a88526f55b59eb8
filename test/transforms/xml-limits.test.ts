import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { ConfigError, formatConfigIssue, HookrelayError } from '../../src/errors.ts';
import { transformRegistry, transformSchema } from '../../src/transforms/index.ts';
import type { TransformContext } from '../../src/transforms/types.ts';

/**
 * What an `xml` step lets through before fast-xml-parser builds anything (issue 11, item 16): no
 * DOCTYPE unless `allowDoctype` (never in SOAP).
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
      'hookrelay.yaml:8:9: routes[0].transform[0].allowDoctype: must not be true with `soap: true`: a SOAP message must not contain a DOCTYPE (SOAP 1.1 §3, SOAP 1.2 part 1 §5)',
    ]);
  });
});
