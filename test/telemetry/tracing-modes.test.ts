/**
 * Tracing across the delivery modes and the steps (issue 16), against a real OTLP/HTTP receiver:
 * a span per transform step and per enrichment fetch (whose API gets the fetch span's context),
 * hybrid's synchronous attempt under the call and its queued attempt in a linked trace, a stream
 * route's attempt under the call, fan-out copies linked to the accepting span, the attempts' trace
 * ids in the delivery record, and no body, header secret, query secret or path in any export.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, startRelay, startTarget, type Target } from '../helpers.ts';
import { type ExportedSpan, type Receiver, startReceiver } from './otlp-receiver.ts';

const SERVER = 2;
const CLIENT = 3;
const CALLER_TRACE = '0af7651916cd43dd8448eb211c80319c';
const CALLER_SPAN = 'b7ad6b7169203331';
const BODY_SECRET = 'body-secret-c0ffee';
const HEADER_SECRET = 'header-secret-8d1e';
const QUERY_SECRET = 'query-secret-42aa';
const PATH_SECRET = 'user-path-9b7f';

let relay: Relay | undefined;
let receiver: Receiver | undefined;
const targets: Target[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await relay?.close();
  await receiver?.close();
  for (const t of targets.splice(0)) await t.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  relay = receiver = undefined;
});

async function target(statuses: number[] = [], body = '{"ok":true}'): Promise<Target> {
  const t = await startTarget((_req, res, index) => {
    res.writeHead(statuses[index] ?? 200, { 'content-type': 'application/json' }).end(body);
  });
  targets.push(t);
  return t;
}

function queuePath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hookrelay-trace-modes-'));
  dirs.push(dir);
  return join(dir, 'q.db');
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

const head = (endpoint: string) => ['tracing:', `  endpoint: ${endpoint}`, '  protocol: http/json'];
const VERIFY = [
  '    verify:',
  '      - type: apiKey',
  '        header: X-Api-Key',
  `        keys: [${HEADER_SECRET}]`,
];

/** A call with a secret in its body, its key header and its query, continuing CALLER_TRACE. */
function call(url: string, body: unknown = { id: PATH_SECRET, secret: BODY_SECRET }) {
  return fetch(`${url}?token=${QUERY_SECRET}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-api-key': HEADER_SECRET,
      traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01`,
    },
    body: JSON.stringify(body),
  });
}

/** Stops the relay (which flushes its spans) and returns them. */
async function stopAndCollect(): Promise<ExportedSpan[]> {
  await relay!.close();
  relay = undefined;
  return receiver!.spans();
}

function expectNothingSecret(): void {
  const everything = receiver!.raw.map((r) => r.body.toString()).join('\n');
  expect(everything.length).toBeGreaterThan(0);
  for (const secret of [BODY_SECRET, HEADER_SECRET, QUERY_SECRET, PATH_SECRET])
    expect(everything, secret).not.toContain(secret);
}

const ids = (traceparent: unknown) => {
  const [, traceId, spanId] = String(traceparent).split('-');
  return { traceId, spanId };
};

describe('tracing: transform steps and the enrichment fetch', () => {
  it('a span per step under the transform span; the fetch is a CLIENT span under its step, whose context the API gets', async () => {
    receiver = await startReceiver();
    const api = await target([], '{"name":"Ada"}');
    const dest = await target();
    relay = await startRelay(
      [
        ...head(receiver.url),
        'routes:',
        '  - id: users',
        '    path: /users',
        ...VERIFY,
        '    transform:',
        '      - type: fetch',
        `        url: ${api.url}/users/{body.id}`,
        '        into: user',
        '      - type: map',
        '        jsonata: \'{ "name": user.name }\'',
        `    forward: { url: "${dest.url}/in" }`,
      ].join('\n'),
    );
    const res = await call(`${relay.url}/users`);
    expect(res.status).toBe(200);
    expect(JSON.parse(dest.received[0]!.body.toString())).toEqual({ name: 'Ada' });
    const spans = await stopAndCollect();

    const server = spans.find((s) => s.kind === SERVER)!;
    expect(server.traceId).toBe(CALLER_TRACE);
    const transform = spans.find((s) => s.name === 'transform' && s.parentSpanId === server.spanId)!;
    expect(transform).toBeDefined();
    const steps = spans.filter((s) => s.parentSpanId === transform.spanId);
    expect(steps.map((s) => s.name).sort()).toEqual(['transform fetch', 'transform map']);
    const fetchStep = steps.find((s) => s.name === 'transform fetch')!;
    expect(fetchStep.attributes).toMatchObject({
      'hookrelay.step': 'transform[0] (fetch)',
      'hookrelay.step.index': 0,
    });
    expect(steps.find((s) => s.name === 'transform map')!.attributes['hookrelay.step.index']).toBe(1);

    const lookup = spans.find((s) => s.kind === CLIENT && s.parentSpanId === fetchStep.spanId)!;
    expect(lookup).toBeDefined();
    expect(lookup.traceId).toBe(CALLER_TRACE);
    expect(lookup.attributes).toMatchObject({
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': api.port,
      'http.response.status_code': 200,
      'hookrelay.route': 'users',
    });
    expect(ids(api.received[0]!.headers.traceparent)).toEqual({
      traceId: CALLER_TRACE,
      spanId: lookup.spanId,
    });
    // The delivery attempt is the call's other CLIENT span, and the target got its context.
    const attempt = spans.find((s) => s.kind === CLIENT && s.parentSpanId === server.spanId)!;
    expect(ids(dest.received[0]!.headers.traceparent)).toEqual({
      traceId: CALLER_TRACE,
      spanId: attempt.spanId,
    });
    expectNothingSecret();
  });

  it('a step that refuses the body marks its span failed with the error code only', async () => {
    receiver = await startReceiver();
    const dest = await target();
    relay = await startRelay(
      [
        ...head(receiver.url),
        'routes:',
        '  - id: strict',
        '    path: /strict',
        ...VERIFY,
        '    transform:',
        `      - { type: map, jsonata: '$error("refused: " & secret)' }`,
        `    forward: { url: "${dest.url}/in" }`,
      ].join('\n'),
    );
    const res = await call(`${relay.url}/strict`);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(dest.received).toHaveLength(0);
    const spans = await stopAndCollect();
    const step = spans.find((s) => s.name === 'transform map')!;
    expect(step.status.code).toBe(2);
    expect(String(step.attributes['error.type'])).toMatch(/^HOOKRELAY_ERR_/);
    // The jsonata message quotes the body's secret: it is in the answer, never in a span.
    expectNothingSecret();
  });
});

describe('tracing: hybrid', () => {
  it('the synchronous attempt is under the call; the queued one is a new trace linked to it; the record holds both ids', async () => {
    receiver = await startReceiver();
    const dest = await target([503, 200]);
    relay = await startRelay(
      [
        ...head(receiver.url),
        `queue: { path: ${queuePath()} }`,
        'routes:',
        '  - id: hy',
        '    path: /hy',
        ...VERIFY,
        '    delivery: hybrid',
        '    retry: { attempts: 1 }',
        '    queue: { minDelay: 10ms, maxDelay: 20ms }',
        `    forward: { url: "${dest.url}/in" }`,
      ].join('\n'),
    );
    const res = await call(`${relay.url}/hy`);
    expect(res.status).toBe(202);
    const deliveryId = res.headers.get('x-hookrelay-delivery')!;
    await until(() => dest.received.length === 2, 'the queued attempt');
    await until(() => relay!.logs.some((l) => l.msg === 'delivered'), 'the delivered log line');
    const admin = `http://127.0.0.1:${(relay.app.admin!.address() as AddressInfo).port}`;
    const shown = (await (await fetch(`${admin}/deliveries/${deliveryId}`)).json()) as {
      delivery: { trace: { traceId: string; spanId: string } | null };
      attempts: { status: number; traceId: string | null; spanId: string | null }[];
    };
    const spans = await stopAndCollect();

    const server = spans.find((s) => s.kind === SERVER)!;
    expect(server.traceId).toBe(CALLER_TRACE);
    const attempts = spans.filter((s) => s.kind === CLIENT);
    expect(attempts).toHaveLength(2);
    const sync = attempts.find((s) => s.parentSpanId === server.spanId)!;
    const queued = attempts.find((s) => s !== sync)!;
    expect(sync.attributes['http.response.status_code']).toBe(503);
    expect(ids(dest.received[0]!.headers.traceparent)).toEqual({
      traceId: CALLER_TRACE,
      spanId: sync.spanId,
    });
    expect(queued.parentSpanId).toBe('');
    expect(queued.traceId).not.toBe(CALLER_TRACE);
    expect(queued.links).toEqual([{ traceId: CALLER_TRACE, spanId: server.spanId }]);
    expect(ids(dest.received[1]!.headers.traceparent)).toEqual({
      traceId: queued.traceId,
      spanId: queued.spanId,
    });

    expect(shown.delivery.trace).toEqual({ traceId: CALLER_TRACE, spanId: server.spanId });
    const last = shown.attempts.at(-1)!;
    expect(last).toMatchObject({ status: 200, traceId: queued.traceId, spanId: queued.spanId });
    expectNothingSecret();
  });
});

/** A verified stream route `files` forwarding to `url`, tracing to the receiver. */
function streamConfig(receiverUrl: string, url: string, extra: string[] = []): string {
  return [
    ...head(receiverUrl),
    'routes:',
    '  - id: files',
    '    path: /files',
    ...VERIFY,
    '    delivery: stream',
    ...extra,
    `    forward: { url: "${url}" }`,
  ].join('\n');
}

describe('tracing: stream', () => {
  it('the streamed attempt is a CLIENT span under the call, and the target gets its context', async () => {
    receiver = await startReceiver();
    const dest = await target();
    relay = await startRelay(streamConfig(receiver.url, `${dest.url}/in`));
    const res = await call(`${relay.url}/files`);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const spans = await stopAndCollect();
    const server = spans.find((s) => s.kind === SERVER)!;
    expect(server.traceId).toBe(CALLER_TRACE);
    expect(server.attributes).toMatchObject({ 'hookrelay.route': 'files', 'http.response.status_code': 200 });
    const attempt = spans.find((s) => s.kind === CLIENT)!;
    expect(attempt.parentSpanId).toBe(server.spanId);
    expect(attempt.attributes).toMatchObject({
      'server.address': '127.0.0.1',
      'http.response.status_code': 200,
      'hookrelay.attempt': 1,
    });
    expect(ids(dest.received[0]!.headers.traceparent)).toEqual({
      traceId: CALLER_TRACE,
      spanId: attempt.spanId,
    });
    expect(spans.some((s) => s.name === 'verify' && s.parentSpanId === server.spanId)).toBe(true);
    expectNothingSecret();
  });

  it('a refused connection retried once: two attempt spans, the first with its retry reason', async () => {
    receiver = await startReceiver();
    // A port that was free a moment ago: nothing listens, the connection is refused.
    const gone = await target();
    const port = gone.port;
    await targets.pop()!.close();
    relay = await startRelay(
      streamConfig(receiver.url, `http://127.0.0.1:${port}/in`, ['    stream: { retryRefused: true }']),
    );
    const res = await call(`${relay.url}/files`);
    expect(res.status).toBe(502);
    await res.arrayBuffer();
    const spans = await stopAndCollect();
    const server = spans.find((s) => s.kind === SERVER)!;
    const attempts = spans
      .filter((s) => s.kind === CLIENT)
      .sort((a, b) => Number(a.attributes['hookrelay.attempt']) - Number(b.attributes['hookrelay.attempt']));
    expect(attempts.map((a) => a.attributes['hookrelay.attempt'])).toEqual([1, 2]);
    for (const a of attempts) {
      expect(a.parentSpanId).toBe(server.spanId);
      expect(a.status.code).toBe(2);
    }
    expect(attempts[0]!.attributes).toMatchObject({
      'hookrelay.retry_reason': 'refused',
      'error.type': 'ECONNREFUSED',
    });
    expect(attempts[1]!.attributes['error.type']).toBe('HOOKRELAY_ERR_UPSTREAM_UNREACHABLE');
    expectNothingSecret();
  });
});

describe('tracing: fan-out', () => {
  it("each queued copy's attempt is its own trace linked to the accepting span; the targets' steps are spans of the call", async () => {
    receiver = await startReceiver();
    const erp = await target();
    const crm = await target();
    relay = await startRelay(
      [
        ...head(receiver.url),
        `queue: { path: ${queuePath()} }`,
        'routes:',
        '  - id: orders',
        '    path: /orders',
        ...VERIFY,
        '    delivery: async',
        '    queue: { minDelay: 10ms, maxDelay: 20ms }',
        '    targets:',
        '      - name: erp',
        `        transform: [{ type: map, jsonata: '{ "order": id }' }]`,
        `        forward: { url: "${erp.url}/in" }`,
        '      - name: crm',
        `        forward: { url: "${crm.url}/in" }`,
      ].join('\n'),
    );
    const res = await call(`${relay.url}/orders`);
    expect(res.status).toBe(202);
    await until(() => erp.received.length === 1 && crm.received.length === 1, 'both copies');
    await until(() => relay!.logs.filter((l) => l.msg === 'delivered').length === 2, 'two delivered lines');
    const spans = await stopAndCollect();

    const server = spans.find((s) => s.kind === SERVER)!;
    expect(server.traceId).toBe(CALLER_TRACE);
    const step = spans.find((s) => s.name === 'transform map')!;
    expect(step.traceId).toBe(CALLER_TRACE);
    expect(step.parentSpanId).toBe(server.spanId);
    const attempts = spans.filter((s) => s.kind === CLIENT);
    expect(attempts).toHaveLength(2);
    expect(new Set(attempts.map((a) => a.traceId)).size).toBe(2);
    for (const a of attempts) {
      expect(a.parentSpanId).toBe('');
      expect(a.links).toEqual([{ traceId: CALLER_TRACE, spanId: server.spanId }]);
    }
    const sentTo = [erp, crm].map((t) => ids(t.received[0]!.headers.traceparent).spanId).sort();
    expect(sentTo).toEqual(attempts.map((a) => a.spanId).sort());
    expectNothingSecret();
  });
});
