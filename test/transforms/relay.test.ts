import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, sample, startRelay, startTarget, type Target } from '../helpers.ts';

/** Transform steps as the relay runs them: errors, metrics, response shaping, respond templates. */
describe('transforms in the relay', () => {
  let target: Target;
  let relay: Relay;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
  });

  async function setup(route: string, handler?: Parameters<typeof startTarget>[0]) {
    target = await startTarget(handler);
    relay = await startRelay(`
routes:
  - id: r
    path: /in
    forward:
      url: ${target.url}/hook
${route}`);
  }

  const post = (body: string | Buffer, contentType = 'application/json') =>
    fetch(`${relay.url}/in`, { method: 'POST', headers: { 'content-type': contentType }, body });

  it('forwards the mapped body as JSON, whatever the caller sent, without its content-encoding', async () => {
    await setup(`    transform:
      - type: map
        fields:
          orderId: order.id
          source: { const: erp }`);
    const res = await fetch(`${relay.url}/in`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.erp+json', 'content-encoding': 'identity' },
      body: '{"order":{"id":"0042"}}',
    });
    expect(res.status).toBe(200);
    const got = target.received[0]!;
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(got.body.toString())).toEqual({ orderId: '0042', source: 'erp' });
    expect(got.headers['content-length']).toBe(String(got.body.length));
  });

  it('a mapping failure answers 422 naming route and step, forwards nothing, counts and logs it', async () => {
    await setup(`    transform:
      - type: map
        fields:
          amount: { from: total, type: number, required: true }`);
    const res = await post('{"other":1}');
    expect(res.status).toBe(422);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ error: 'HOOKRELAY_ERR_TRANSFORM_FAILED', route: 'r', status: 422 });
    expect(String(body.message)).toContain('transform[0] (map)');
    expect(typeof body.requestId).toBe('string');
    expect(target.received).toHaveLength(0);
    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    expect(sample(metrics, 'hookrelay_transform_errors_total', { route: 'r', step: '0-map' })).toBe(1);
    const line = relay.logs.find((l) => l.msg === 'request' && l.status === 422);
    expect(line).toMatchObject({
      route: 'r',
      code: 'HOOKRELAY_ERR_TRANSFORM_FAILED',
      step: 'transform[0] (map)',
    });
  });

  it('malformed JSON is a 400 with line and column; nothing is forwarded', async () => {
    await setup(`    transform:
      - type: map
        fields: { a: a }`);
    const res = await post('{\n  "a": 1,\n  oops\n}');
    expect(res.status).toBe(400);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.error).toBe('HOOKRELAY_ERR_MALFORMED_BODY');
    expect(String(body.message)).toMatch(/line 3, column \d+/);
    expect(target.received).toHaveLength(0);
  });

  it('a binary body into a mapping is refused with 415', async () => {
    await setup(`    transform:
      - type: map
        fields: { a: a }`);
    const res = await post(Buffer.from([0, 1, 2, 255]), 'application/octet-stream');
    expect(res.status).toBe(415);
    expect(((await res.json()) as Record<string, unknown>).error).toBe(
      'HOOKRELAY_ERR_UNSUPPORTED_MEDIA_TYPE',
    );
    expect(target.received).toHaveLength(0);
  });

  it('response.transform turns the target JSON answer into the XML acknowledgement the caller needs', async () => {
    await setup(
      `    response:
      transform:
        - type: map
          fields:
            Ack: { const: 'true' }
            Id: id
        - type: xml-out
          root: ack
          declaration: false`,
      (_req, res) => {
        res.setHeader('content-type', 'application/json');
        res.setHeader('x-target', 'yes');
        res.end('{"id":"7","status":"ok"}');
      },
    );
    const res = await post('{"a":1}');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/xml/);
    expect(res.headers.get('x-target')).toBe('yes');
    expect(await res.text()).toBe('<ack><Ack>true</Ack><Id>7</Id></ack>');
  });

  it('a failing response step answers 502 saying the target has the request, and does not retry', async () => {
    await setup(
      `    response:
      transform:
        - type: map
          fields:
            id: { from: id, required: true }`,
      (_req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end('{"nothing":"here"}');
      },
    );
    const res = await post('{"a":1}');
    expect(res.status).toBe(502);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.error).toBe('HOOKRELAY_ERR_RESPONSE_TRANSFORM_FAILED');
    expect(String(body.message)).toContain('accepted the request');
    expect(target.received).toHaveLength(1);
  });

  it('a non-2xx target answer is passed through, not reshaped', async () => {
    await setup(
      `    response:
      transform:
        - type: xml-out
          root: ack`,
      (_req, res) => {
        res.statusCode = 400;
        res.setHeader('content-type', 'application/json');
        res.end('{"error":"bad"}');
      },
    );
    const res = await post('{"a":1}');
    expect(res.status).toBe(400);
    expect(await res.text()).toBe('{"error":"bad"}');
  });

  it('a respond body template echoes a verification challenge from the request', async () => {
    await setup(`    respond:
      status: 200
      contentType: application/json
      body: '{"challenge":"{{ body.challenge }}","id":"{{ requestId }}","q":"{{ query.mode }}"}'`);
    const res = await fetch(`${relay.url}/in?mode=subscribe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'rid-1' },
      body: '{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}',
    });
    expect(await res.json()).toEqual({
      challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
      id: 'rid-1',
      q: 'subscribe',
    });
  });

  it('a bad template in respond.body is a config error naming the key', async () => {
    await expect(
      startRelay(`
routes:
  - id: r
    path: /in
    echo: true
    respond: { body: "{{ nope.x }}" }
`),
    ).rejects.toThrow(/routes\[0\]\.respond\.body: invalid template expression/);
  });
});
