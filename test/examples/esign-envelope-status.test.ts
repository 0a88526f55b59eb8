import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, sample, startRelay, startTarget, type Target } from '../helpers.ts';
import { cli, declaredJson, documentedCommand, example } from './support.ts';

/** config/examples/esign-envelope-status.yaml: an XML envelope-status notification to JSON. */
const ex = example('esign-envelope-status');
const KEY = 'contracts-api-s3cret';

describe('esign-envelope-status', () => {
  let target: Target | undefined;
  let relay: Relay | undefined;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
    relay = undefined;
    target = undefined;
  });

  async function start() {
    target = await startTarget((_req, res) => {
      res.statusCode = 200;
      res.setHeader('content-type', 'application/json');
      res.end('{"stored":true}');
    });
    relay = await startRelay(ex.source, { CONTRACTS_URL: target.url, CONTRACTS_API_KEY: KEY });
    return relay;
  }

  const post = (url: string, body: Buffer | string) =>
    fetch(`${url}/esign/connect`, { method: 'POST', headers: { 'content-type': 'application/xml' }, body });

  it('forwards the envelope status as a JSON event with the API key; the sender gets the target answer', async () => {
    const { url, logs } = await start();
    const res = await post(url, ex.fixture('request.xml'));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ stored: true });

    expect(target!.received).toHaveLength(1);
    const got = target!.received[0]!;
    expect(got.method).toBe('POST');
    expect(got.url).toBe('/api/v1/signature-events');
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['x-api-key']).toBe(KEY);
    expect(got.headers['x-envelope-status']).toBe('completed');
    const event = JSON.parse(got.body.toString('utf8'));
    expect(event).toEqual(ex.expected);
    // Text stays text: the contract number keeps its leading zeros.
    expect(event.contractNumber).toBe('000471');
    expect(JSON.stringify(logs)).not.toContain(KEY);
  });

  it('a document declaring entities is refused with 400 before anything is expanded or forwarded', async () => {
    const { url } = await start();
    const lol = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">${Array.from(
      { length: 9 },
      (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`,
    ).join('')}]><DocuSignEnvelopeInformation>&lol9;</DocuSignEnvelopeInformation>`;
    const res = await post(url, lol);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('HOOKRELAY_ERR_MALFORMED_BODY');
    expect(target!.received).toHaveLength(0);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(
      sample(metrics, 'hookrelay_transform_errors_total', { route: 'esign-envelopes', step: '0-xml' }),
    ).toBe(1);
  });

  it('the fixture and the test case in the YAML expect the same body', () => {
    expect(
      declaredJson(ex, { CONTRACTS_API_KEY: 'x' }, 'a completed envelope becomes a JSON signature event'),
    ).toEqual(ex.expected);
  });

  it('`# Check:` runs the tests declared in the file, and they pass', async () => {
    const { env, args } = documentedCommand(ex, 'Check');
    const result = await cli(args, env);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^3 passed, 0 failed$/m);
    expect(result.code).toBe(0);
  });

  it('`# Try:` prints the JSON that would be forwarded and no key', async () => {
    const { env, args } = documentedCommand(ex, 'Try');
    const result = await cli(args, { ...env, CONTRACTS_API_KEY: KEY });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^POST https:\/\/contracts\.example\.com\/api\/v1\/signature-events\n/);
    expect(result.stdout).toContain('x-api-key: <redacted>\n');
    expect(result.stdout).toContain(`\n${JSON.stringify(ex.expected, null, 2)}\n`);
    expect(result.stdout).not.toContain(KEY);
  });
});
