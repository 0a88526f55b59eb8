import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { ErrorBody } from '../../src/pipeline/reply.ts';
import { type Relay, sample, startRelay, startTarget, type Target } from '../helpers.ts';

/**
 * A target answer larger than `limits.response` on synchronous and hybrid routes. The status is
 * known before the body, and a 2xx means the target has the request: it is delivered whatever the
 * size of its answer, and the caller must be told so (not a 5xx, which makes senders re-send into
 * a duplicate, and not a cut-off body). A non-2xx keeps its meaning: retried when its status is.
 */
describe('answers larger than limits.response', () => {
  let target: Target;
  let relay: Relay;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
  });

  const BIG = 4096;
  /** `status` with a body of BIG bytes, with Content-Length or chunked. */
  const big =
    (status: number, chunked = false) =>
    (res: ServerResponse) => {
      res.statusCode = status;
      res.setHeader('content-type', 'application/json');
      if (!chunked) {
        res.end(`{"pad":"${'a'.repeat(BIG)}"}`);
        return;
      }
      for (let i = 0; i < 8; i++) res.write(`${'b'.repeat(BIG / 8)}`);
      res.end();
    };

  async function setup(handler: Parameters<typeof startTarget>[0], route: string, top = '') {
    target = await startTarget(handler);
    relay = await startRelay(`
${top}
routes:
  - id: big
    path: /in
    limits: { response: 1kb }
${route}
    forward:
      url: ${target.url}/hook
`);
  }

  const post = () => fetch(`${relay.url}/in`, { method: 'POST', body: '{"order":1}' });

  for (const chunked of [false, true]) {
    it(`sync, a 2xx ${chunked ? 'chunked' : 'with Content-Length'}: delivered, the caller gets 200 saying so`, async () => {
      await setup((_req, res) => big(201, chunked)(res), '    retry: { attempts: 3, minDelay: 10ms }');
      const res = await post();
      expect(res.status).toBe(200);
      const body = (await res.json()) as ErrorBody;
      expect(body).toMatchObject({
        error: 'HOOKRELAY_ERR_DELIVERED_RESPONSE_TOO_LARGE',
        status: 200,
        route: 'big',
        message:
          'the target accepted the request (201), but its answer is larger than limits.response (1024 bytes) and is not relayed',
      });
      expect(target.received).toHaveLength(1);
      const metrics = await relay.app.metrics.registry.metrics();
      expect(sample(metrics, 'hookrelay_deliveries_total', { route: 'big', result: 'delivered' })).toBe(1);
      expect(sample(metrics, 'hookrelay_deliveries_total', { route: 'big', result: 'failed' })).toBe(0);
      expect(
        sample(metrics, 'hookrelay_forward_attempts_total', { route: 'big', outcome: 'response_too_large' }),
      ).toBe(1);
      expect(relay.logs.find((l) => l.msg === 'request')).toMatchObject({
        status: 200,
        attempts: 1,
        result: 'delivered',
        code: 'HOOKRELAY_ERR_DELIVERED_RESPONSE_TOO_LARGE',
      });
    });
  }

  it('sync with a respond block: the acknowledgement, as for any delivered request', async () => {
    await setup(
      (_req, res) => big(200)(res),
      '    respond: { status: 200, contentType: text/plain, body: "OK {{ requestId }}" }',
    );
    const res = await fetch(`${relay.url}/in`, {
      method: 'POST',
      body: '{}',
      headers: { 'x-request-id': 'r-1' },
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('OK r-1');
  });

  it('sync with response steps: the answer cannot be reshaped, the caller is told it was delivered', async () => {
    await setup((_req, res) => big(200)(res), '    response: { transform: [{ type: xml-out }] }');
    const res = await post();
    expect(res.status).toBe(200);
    expect(((await res.json()) as ErrorBody).error).toBe('HOOKRELAY_ERR_DELIVERED_RESPONSE_TOO_LARGE');
  });

  it('sync, a refusal (400) too large to relay: 502 UPSTREAM_RESPONSE_TOO_LARGE, not retried', async () => {
    await setup((_req, res) => big(400)(res), '    retry: { attempts: 3, minDelay: 10ms }');
    const res = await post();
    expect(res.status).toBe(502);
    expect((await res.json()) as ErrorBody).toMatchObject({
      error: 'HOOKRELAY_ERR_UPSTREAM_RESPONSE_TOO_LARGE',
      message: 'the target answered 400 with more than limits.response (1024 bytes)',
    });
    expect(target.received).toHaveLength(1);
    const metrics = await relay.app.metrics.registry.metrics();
    expect(sample(metrics, 'hookrelay_deliveries_total', { route: 'big', result: 'rejected' })).toBe(1);
  });

  it('sync, a retryable status (503) too large to read is retried like any 503', async () => {
    await setup(
      (_req, res, i) => (i === 0 ? big(503, true)(res) : void res.end('{"ok":true}')),
      '    retry: { attempts: 3, minDelay: 10ms, maxDelay: 20ms }',
    );
    const res = await post();
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('{"ok":true}');
    expect(target.received).toHaveLength(2);
  });

  it('sync, a retryable status too large every time: 502 UPSTREAM_FAILED after the attempts', async () => {
    await setup((_req, res) => big(503)(res), '    retry: { attempts: 2, minDelay: 10ms, maxDelay: 20ms }');
    const res = await post();
    expect(res.status).toBe(502);
    expect((await res.json()) as ErrorBody).toMatchObject({
      error: 'HOOKRELAY_ERR_UPSTREAM_FAILED',
      attempts: 2,
      lastError: 'target answered 503',
    });
    expect(target.received).toHaveLength(2);
  });

  it('hybrid, a 2xx: delivered and answered, nothing queued', async () => {
    await setup(
      (_req, res) => big(200)(res),
      '    delivery: hybrid\n    hybrid: { budget: 2s }',
      'queue: { driver: memory }\nadmin: { enabled: false }',
    );
    const res = await post();
    expect(res.status).toBe(200);
    expect(((await res.json()) as ErrorBody).error).toBe('HOOKRELAY_ERR_DELIVERED_RESPONSE_TOO_LARGE');
    expect(await relay.app.queue!.driver.list({})).toEqual([]);
    expect(target.received).toHaveLength(1);
  });

  it('hybrid, a 503 too large to read within the budget: queued like any 503, then delivered', async () => {
    await setup(
      (_req, res, i) => (i === 0 ? big(503)(res) : void res.end('ok')),
      '    delivery: hybrid\n    hybrid: { budget: 2s }\n    retry: { attempts: 1 }\n    queue: { minDelay: 10ms, maxDelay: 20ms }',
      'queue: { driver: memory }\nadmin: { enabled: false }',
    );
    const res = await post();
    expect(res.status).toBe(202);
    const { deliveryId } = (await res.json()) as { deliveryId: string };
    const deadline = Date.now() + 10_000;
    for (;;) {
      const found = await relay.app.queue!.driver.get(deliveryId);
      if (found?.record.status === 'delivered') break;
      if (Date.now() > deadline) throw new Error(`not delivered: ${JSON.stringify(found?.record)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(target.received).toHaveLength(2);
  });
});
