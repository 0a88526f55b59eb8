import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { ErrorBody } from '../../src/pipeline/reply.ts';
import { type Relay, startRelay, startTarget, type Target, type TargetHandler } from '../helpers.ts';

const soapAck = readFileSync(new URL('../fixtures/soap-ack.xml', import.meta.url), 'utf8');
const soapRequest = readFileSync(new URL('../fixtures/soap-request.xml', import.meta.url));

/** The `respond` block: a legacy sender that insists on its own answer gets it, after delivery. */
describe('respond block', () => {
  let target: Target;
  let relay: Relay;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
  });

  async function setup(handler: TargetHandler, respond: string, retry = '{ attempts: 2, minDelay: 10ms }') {
    target = await startTarget(handler);
    relay = await startRelay(`
routes:
  - id: soap-in
    path: /soap/orders
    retry: ${retry}
    forward:
      url: ${target.url}/api/orders
    respond:
${respond}`);
  }

  const indent = (text: string, spaces: number) =>
    text
      .trimEnd()
      .split('\n')
      .map((l) => `${' '.repeat(spaces)}${l}`)
      .join('\n');

  const soapRespond = `      status: 200
      contentType: application/soap+xml; charset=utf-8
      headers: { X-Ack: "yes", SOAPAction: "urn:Ack" }
      body: |
${indent(soapAck, 8)}
`;

  const postSoap = (requestId?: string) =>
    fetch(`${relay.url}/soap/orders`, {
      method: 'POST',
      headers: {
        'content-type': 'application/soap+xml; charset=utf-8',
        ...(requestId ? { 'x-request-id': requestId } : {}),
      },
      body: soapRequest,
    });

  it('answers the static SOAP ack with {requestId} substituted, after the target accepted', async () => {
    await setup((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.statusCode = 202;
      res.end('{"queued":true}');
    }, soapRespond);
    const res = await postSoap('soap-req-1');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/soap+xml; charset=utf-8');
    expect(res.headers.get('x-ack')).toBe('yes');
    expect(res.headers.get('soapaction')).toBe('urn:Ack');
    expect(res.headers.get('x-request-id')).toBe('soap-req-1');
    const body = await res.text();
    expect(body).toBe(`${soapAck.trimEnd().replace('{requestId}', 'soap-req-1')}\n`);
    expect(body).not.toContain('queued');
    expect(target.received).toHaveLength(1);
    expect(target.received[0]!.body.equals(soapRequest)).toBe(true);
  });

  it('substitutes a generated request id when the caller sends none', async () => {
    await setup((_req, res) => void res.end(), soapRespond);
    const res = await postSoap();
    const id = res.headers.get('x-request-id')!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await res.text()).toContain(`<Reference>${id}</Reference>`);
    expect(target.received[0]!.headers['x-request-id']).toBe(id);
  });

  it('answers after retries once the target accepts', async () => {
    await setup((_req, res, i) => {
      res.statusCode = i === 0 ? 503 : 200;
      res.end();
    }, soapRespond);
    const res = await postSoap('soap-req-2');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<Reference>soap-req-2</Reference>');
    expect(target.received).toHaveLength(2);
  });

  it('a failed delivery still answers the JSON error, so the sender retries', async () => {
    await setup((_req, res) => {
      res.statusCode = 503;
      res.end('down');
    }, soapRespond);
    const res = await postSoap('soap-req-3');
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('x-ack')).toBeNull();
    expect((await res.json()) as ErrorBody).toMatchObject({
      error: 'HOOKRELAY_ERR_UPSTREAM_FAILED',
      route: 'soap-in',
      requestId: 'soap-req-3',
      attempts: 2,
    });
  });

  it('a target rejection (4xx) is relayed as is, not acknowledged', async () => {
    await setup((_req, res) => {
      res.statusCode = 400;
      res.setHeader('content-type', 'text/plain');
      res.end('bad order');
    }, soapRespond);
    const res = await postSoap();
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('text/plain');
    expect(await res.text()).toBe('bad order');
  });

  it('status and headers only: empty body', async () => {
    await setup(
      (_req, res) => void res.end('target body'),
      '      status: 204\n      headers: { X-Relay: hookrelay }\n',
    );
    const res = await postSoap();
    expect(res.status).toBe(204);
    expect(res.headers.get('x-relay')).toBe('hookrelay');
    expect(await res.text()).toBe('');
  });

  it('a body without {requestId} is sent verbatim', async () => {
    await setup(
      (_req, res) => void res.end(),
      '      status: 202\n      contentType: text/plain\n      body: "OK {id} {requestid}"\n',
    );
    const res = await postSoap();
    expect(res.status).toBe(202);
    expect(res.headers.get('content-type')).toBe('text/plain');
    expect(await res.text()).toBe('OK {id} {requestid}');
  });

  it('the log line carries route, status, attempts and duration', async () => {
    await setup((_req, res) => void res.end(), soapRespond);
    await postSoap('soap-req-4');
    const lines = relay.logs.filter((l) => l.msg === 'request');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ route: 'soap-in', status: 200, attempts: 1, requestId: 'soap-req-4' });
    expect(lines[0]!.durationMs).toBeTypeOf('number');
  });
});
