import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, sample, startRelay, startTarget, type Target } from '../helpers.ts';
import { cli, documentedCommand, example } from './support.ts';

/** config/examples/crm-outbound-org-check.yaml: outbound messages refused unless from our org, faults in SOAP. */
const ex = example('crm-outbound-org-check');
const ORG = '00D5g000004Xy1ZEAS';
const TOKEN = 'deals-t0ken-s3cret';

describe('crm-outbound-org-check', () => {
  let target: Target | undefined;
  let relay: Relay | undefined;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
    relay = target = undefined;
  });

  async function start(org: string, status = 200) {
    target = await startTarget((_req, res) => {
      res.statusCode = status;
      res.setHeader('content-type', 'application/json');
      res.end(status < 300 ? '{"ok":true}' : '{"error":"down"}');
    });
    relay = await startRelay(ex.source, {
      CRM_ORG_ID: org,
      DEALS_URL: `${target.url}/hooks/crm`,
      DEALS_TOKEN: TOKEN,
    });
    return relay;
  }

  const post = (url: string, body: Buffer | string) =>
    fetch(`${url}/crm/outbound`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""', 'x-request-id': 'sf-1' },
      body,
    });

  it("our organisation's message is forwarded and acknowledged in SOAP", async () => {
    const { url } = await start(ORG);
    const res = await post(url, ex.fixture('request.xml'));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<Ack>true</Ack>');
    expect(target!.received).toHaveLength(1);
    expect(target!.received[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(JSON.parse(target!.received[0]!.body.toString())).toEqual(ex.expected);
  });

  it("another organisation's message: 403 with a SOAP client fault, nothing forwarded, counted", async () => {
    const { url, logs } = await start('00D000000000001');
    const res = await post(url, ex.fixture('request.xml'));
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toBe('text/xml; charset=utf-8');
    const text = await res.text();
    expect(text).toContain('<faultcode>soapenv:Client</faultcode>');
    expect(text).toContain('organisation not accepted (HOOKRELAY_ERR_RULE_REFUSED, request sf-1)');
    expect(text).not.toContain('<Ack>');
    expect(target!.received).toHaveLength(0);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(
      sample(metrics, 'hookrelay_rule_matches_total', {
        route: 'crm-outbound',
        rule: 'other-org',
        action: 'refuse',
      }),
    ).toBe(1);
    expect(
      sample(metrics, 'hookrelay_errors_total', {
        route: 'crm-outbound',
        code: 'HOOKRELAY_ERR_RULE_REFUSED',
      }),
    ).toBe(1);
    expect(logs.find((l) => l.msg === 'request')).toMatchObject({ status: 403, rule: 'other-org' });
  });

  it('the deals service refusing: a SOAP server fault (500), so the CRM sends it again', async () => {
    const { url } = await start(ORG, 400);
    const res = await post(url, ex.fixture('request.xml'));
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).toContain('<faultcode>soapenv:Server</faultcode>');
    expect(text).toContain('not delivered (400, request sf-1)');
  });

  it('`# Check:` runs the tests declared in the file, and they pass', async () => {
    const { env, args } = documentedCommand(ex, 'Check');
    const result = await cli(args, env);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^2 passed, 0 failed$/m);
    expect(result.code).toBe(0);
  });

  it('`# Try:` with another org: the refusal, named with its rule, and exit 1', async () => {
    const { env, args } = documentedCommand(ex, 'Try');
    const result = await cli(args, env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("refused by rule 'other-org': the message is not from our organisation");
    expect(result.stderr).toContain(
      'HOOKRELAY_ERR_RULE_REFUSED: the relay would answer 403 and forward nothing',
    );
  });
});
