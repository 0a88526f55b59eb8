/**
 * Tracing end to end (issue 16): a relay with a `tracing:` block exports to a real OTLP/HTTP
 * receiver; spans follow the lifecycle with the right parents, the caller's trace reaches the
 * target, and nothing secret (body, header secret, query secret) appears in any export.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NOOP_TRACER, tracingSettings } from '../../src/telemetry/tracing.ts';
import { type Relay, startRelay, startTarget, type Target } from '../helpers.ts';
import { REDIS_SERVER, startRedis } from '../support/redis-server.ts';
import { type Receiver, startReceiver } from './otlp-receiver.ts';

let relay: Relay | undefined;
let target: Target | undefined;
let receiver: Receiver | undefined;

afterEach(async () => {
  await relay?.close();
  await target?.close();
  await receiver?.close();
  relay = target = receiver = undefined;
});

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const BODY_SECRET = 'body-secret-7f3a';
const HEADER_SECRET = 'header-secret-91cc';
const QUERY_SECRET = 'query-secret-55de';

function config(endpoint: string, targetUrl: string, protocol = 'http/json') {
  return [
    'tracing:',
    `  endpoint: ${endpoint}`,
    `  protocol: ${protocol}`,
    'routes:',
    '  - id: orders',
    '    path: /hooks/:tenant',
    '    verify:',
    '      - type: apiKey',
    '        header: X-Api-Key',
    `        keys: [${HEADER_SECRET}]`,
    `    forward: { url: "${targetUrl}/in" }`,
  ].join('\n');
}

describe('tracing: settings', () => {
  it('is off by default and on with an OTLP endpoint in the environment or the block', () => {
    expect(tracingSettings({}, {})).toBeUndefined();
    expect(tracingSettings({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })?.protocol).toBe(
      'http/protobuf',
    );
    expect(
      tracingSettings({}, { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })
        ?.protocol,
    ).toBe('http/json');
    expect(tracingSettings({ endpoint: 'http://c:4318/v1/traces' }, {})?.url).toBe('http://c:4318/v1/traces');
    expect(
      tracingSettings({ enabled: false }, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }),
    ).toBeUndefined();
    expect(tracingSettings({ enabled: true }, { OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
    expect(tracingSettings({ enabled: true }, { OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined();
    expect(NOOP_TRACER.startSpan('x').traceId).toBe('');
  });
});

describe('tracing: a sync route', () => {
  it('continues the caller trace: SERVER span, verify and transform children, a CLIENT attempt whose context the target gets', async () => {
    receiver = await startReceiver();
    target = await startTarget();
    relay = await startRelay(config(receiver.url, target.url));
    const res = await fetch(`${relay.url}/hooks/acme?token=${QUERY_SECRET}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-api-key': HEADER_SECRET,
        traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01`,
        tracestate: 'vendor=abc',
      },
      body: JSON.stringify({ secret: BODY_SECRET }),
    });
    expect(res.status).toBe(200);
    const sent = target.received[0]!.headers;
    const [, traceId, parentId] = String(sent.traceparent).split('-');
    expect(traceId).toBe(CALLER_TRACE);
    expect(sent.tracestate).toBe('vendor=abc');
    const line = relay.logs.find((l) => l.msg === 'request')!;
    await relay.close();
    relay = undefined;

    const spans = receiver.spans();
    const server = spans.find((s) => s.kind === 2)!;
    expect(server).toBeDefined();
    expect(server.traceId).toBe(CALLER_TRACE);
    expect(server.parentSpanId).toBe(CALLER_SPAN);
    expect(server.name).toBe('POST /hooks/:tenant');
    expect(server.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/hooks/:tenant',
      'hookrelay.route': 'orders',
      'http.response.status_code': 200,
    });
    expect(line.traceId).toBe(CALLER_TRACE);
    expect(line.spanId).toBe(server.spanId);
    expect(server.attributes['hookrelay.request_id']).toBe(line.requestId);
    const child = (name: string) => spans.find((s) => s.name === name && s.parentSpanId === server.spanId);
    expect(child('verify')).toBeDefined();
    expect(child('transform')).toBeDefined();
    const attempt = spans.find((s) => s.kind === 3)!;
    expect(attempt.parentSpanId).toBe(server.spanId);
    expect(attempt.spanId).toBe(parentId);
    expect(attempt.attributes).toMatchObject({
      'server.address': '127.0.0.1',
      'url.scheme': 'http',
      'http.response.status_code': 200,
      'hookrelay.attempt': 1,
    });

    const everything = receiver.raw.map((r) => r.body.toString()).join('\n');
    for (const secret of [BODY_SECRET, HEADER_SECRET, QUERY_SECRET, '/in', 'acme'])
      expect(everything).not.toContain(secret);
  });

  it('starts a new trace for a caller without one, and sends its context to the target', async () => {
    receiver = await startReceiver();
    target = await startTarget();
    relay = await startRelay(config(receiver.url, target.url));
    const res = await fetch(`${relay.url}/hooks/acme`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': HEADER_SECRET },
      body: '{}',
    });
    expect(res.status).toBe(200);
    const [version, traceId] = String(target.received[0]!.headers.traceparent).split('-');
    expect(version).toBe('00');
    await relay.close();
    relay = undefined;
    const server = receiver.spans().find((s) => s.kind === 2)!;
    expect(server.traceId).toBe(traceId);
    expect(server.parentSpanId).toBe('');
  });

  it('exports http/protobuf when asked', async () => {
    receiver = await startReceiver();
    target = await startTarget();
    relay = await startRelay(config(receiver.url, target.url, 'http/protobuf'));
    await fetch(`${relay.url}/hooks/acme`, {
      method: 'POST',
      headers: { 'x-api-key': HEADER_SECRET },
      body: '{}',
    });
    await relay.close();
    relay = undefined;
    expect(receiver.raw.length).toBeGreaterThan(0);
    expect(receiver.raw[0]!.contentType).toBe('application/x-protobuf');
    expect(receiver.raw[0]!.body.includes(Buffer.from('hookrelay.route'))).toBe(true);
  });
});

// Outside CI a machine without redis-server skips the redis case (REDIS_SERVER says why); under CI it is required.
const drivers = REDIS_SERVER === undefined ? (['sqlite'] as const) : (['sqlite', 'redis'] as const);

describe.each(drivers)('tracing: a queued route (%s)', (driver) => {
  it('stores the accepting context; each attempt is a new trace linked to it, whose context the target gets', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hookrelay-trace-'));
    const redis = driver === 'redis' ? await startRedis() : undefined;
    try {
      receiver = await startReceiver();
      target = await startTarget((_req, res, index) => {
        res.writeHead(index === 0 ? 503 : 200).end();
      });
      relay = await startRelay(
        [
          'tracing:',
          `  endpoint: ${receiver.url}`,
          '  protocol: http/json',
          redis
            ? `queue: { driver: redis, redis: { url: "${redis.url}" } }`
            : `queue: { path: ${join(dir, 'q.db')} }`,
          'routes:',
          '  - id: events',
          '    path: /events',
          '    delivery: async',
          '    queue: { minDelay: 10ms, maxDelay: 10ms }',
          `    forward: { url: "${target.url}/in" }`,
        ].join('\n'),
      );
      const res = await fetch(`${relay.url}/events`, {
        method: 'POST',
        headers: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` },
        body: '{}',
      });
      expect(res.status).toBe(202);
      for (let i = 0; i < 200 && target.received.length < 2; i++) await new Promise((r) => setTimeout(r, 25));
      expect(target.received).toHaveLength(2);
      for (let i = 0; i < 200 && !relay.logs.some((l) => l.msg === 'delivered'); i++)
        await new Promise((r) => setTimeout(r, 25));
      const logs = relay.logs;
      await relay.close();
      relay = undefined;

      const spans = receiver.spans();
      const server = spans.find((s) => s.kind === 2)!;
      expect(server.traceId).toBe(CALLER_TRACE);
      const attempts = spans
        .filter((s) => s.kind === 3)
        .sort(
          (a, b) => Number(a.attributes['hookrelay.attempt']) - Number(b.attributes['hookrelay.attempt']),
        );
      expect(attempts).toHaveLength(2);
      for (const [i, attempt] of attempts.entries()) {
        expect(attempt.parentSpanId).toBe('');
        expect(attempt.traceId).not.toBe(CALLER_TRACE);
        expect(attempt.links).toEqual([{ traceId: CALLER_TRACE, spanId: server.spanId }]);
        const [, traceId, spanId] = String(target.received[i]!.headers.traceparent).split('-');
        expect({ traceId, spanId }).toEqual({ traceId: attempt.traceId, spanId: attempt.spanId });
      }
      expect(attempts[0]!.attributes).toMatchObject({
        'http.response.status_code': 503,
        'hookrelay.retry_reason': 'status_503',
      });
      expect(attempts[1]!.attributes['hookrelay.retry_reason']).toBeUndefined();
      const delivered = logs.find((l) => l.msg === 'delivered')!;
      expect(delivered.traceId).toBe(attempts[1]!.traceId);
      expect(delivered.spanId).toBe(attempts[1]!.spanId);
    } finally {
      await redis?.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
