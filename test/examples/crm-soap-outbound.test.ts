import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, sample, startRelay, startTarget, type Target } from '../helpers.ts';
import { cli, declaredJson, documentedCommand, example } from './support.ts';

/** config/examples/crm-soap-outbound.yaml: a SOAP outbound message to a JSON webhook, acknowledged in SOAP. */
const ex = example('crm-soap-outbound');
const TOKEN = 'crm-webhook-s3cret';
const ACK = '<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">\n      <Ack>true</Ack>';

describe('crm-soap-outbound', () => {
  let target: Target | undefined;
  let relay: Relay | undefined;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
    relay = undefined;
    target = undefined;
  });

  async function start(status = 202) {
    target = await startTarget((_req, res) => {
      res.statusCode = status;
      res.setHeader('content-type', 'application/json');
      res.end(status < 300 ? '{"received":true}' : '{"error":"no such pipeline"}');
    });
    relay = await startRelay(ex.source, {
      CRM_WEBHOOK_URL: `${target.url}/hooks/crm`,
      CRM_WEBHOOK_TOKEN: TOKEN,
    });
    return relay;
  }

  const post = (url: string, body: Buffer | string, type = 'text/xml; charset=utf-8') =>
    fetch(`${url}/crm/outbound/opportunities`, {
      method: 'POST',
      headers: { 'content-type': type, soapaction: '""', 'x-request-id': 'sf-msg-1' },
      body,
    });

  it('forwards the notifications as one JSON event and answers the CRM with the SOAP Ack', async () => {
    const { url, logs } = await start();
    const res = await post(url, ex.fixture('request.xml'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/xml; charset=utf-8');
    expect(res.headers.get('x-request-id')).toBe('sf-msg-1');
    const ack = await res.text();
    expect(ack).toContain(ACK);
    expect(ack).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<soapenv:Envelope /);

    expect(target!.received).toHaveLength(1);
    const got = target!.received[0]!;
    expect(got.method).toBe('POST');
    expect(got.url).toBe('/hooks/crm');
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(got.headers['x-crm-org']).toBe('00D5g000004Xy1ZEAS');
    expect(got.headers['x-event-source']).toBe('crm-outbound-message');
    expect(got.headers.soapaction).toBeUndefined();
    expect(JSON.parse(got.body.toString('utf8'))).toEqual(ex.expected);
    expect(JSON.stringify(logs)).not.toContain(TOKEN);
  });

  it('a target that refuses the event: the CRM gets no Ack, so it sends the message again', async () => {
    const { url } = await start(400);
    const res = await post(url, ex.fixture('request.xml'));
    expect(res.status).toBe(400);
    expect(await res.text()).not.toContain('<Ack>');
  });

  it('a broken envelope: 400 with the position, nothing forwarded, counted per step', async () => {
    const { url } = await start();
    const res = await post(
      url,
      '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">\n<x>',
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; message: string; route: string };
    expect(body.error).toBe('HOOKRELAY_ERR_MALFORMED_BODY');
    expect(body.route).toBe('crm-opportunities');
    expect(body.message).toMatch(/^transform\[0\] \(xml\): malformed XML body: .*line \d+/);
    expect(target!.received).toHaveLength(0);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(
      sample(metrics, 'hookrelay_transform_errors_total', { route: 'crm-opportunities', step: '0-xml' }),
    ).toBe(1);
  });

  it('the fixture and the test case in the YAML expect the same body', () => {
    expect(
      declaredJson(ex, { CRM_WEBHOOK_TOKEN: 'x' }, 'two opportunity notifications become one JSON event'),
    ).toEqual(ex.expected);
  });

  it('`# Check:` runs the tests declared in the file, and they pass', async () => {
    const { env, args } = documentedCommand(ex, 'Check');
    const result = await cli(args, env);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^4 passed, 0 failed$/m);
    expect(result.code).toBe(0);
  });

  it('`# Try:` prints the JSON that would be forwarded, the Ack, and no token', async () => {
    const { env, args } = documentedCommand(ex, 'Try');
    const result = await cli(args, { ...env, CRM_WEBHOOK_TOKEN: TOKEN });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^POST https:\/\/deals\.example\.com\/hooks\/crm\n/);
    expect(result.stdout).toContain('authorization: Bearer <redacted>\n');
    expect(result.stdout).toContain(`\n${JSON.stringify(ex.expected, null, 2)}\n`);
    expect(result.stdout).toContain(ACK);
    expect(result.stdout).not.toContain(TOKEN);
  });
});
