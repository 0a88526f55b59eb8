import { mkdtempSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { bearerAuth } from '../../src/auth/bearer.ts';
import type { OutboundAuth } from '../../src/auth/types.ts';
import { compileRoutes } from '../../src/config/compile.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { TargetResponse } from '../../src/delivery/attempt.ts';
import { Clients } from '../../src/delivery/client.ts';
import { firstQueuedAttemptAt, statusMatcher } from '../../src/delivery/policy.ts';
import { workerRoute } from '../../src/modes/async/worker-route.ts';
import type { HybridRoute } from '../../src/modes/hybrid/index.ts';
import { newDeliveryId } from '../../src/queue/ids.ts';
import { MemoryDriver } from '../../src/queue/memory.ts';
import { decide } from '../../src/queue/outcome.ts';
import { SqliteDriver } from '../../src/queue/sqlite.ts';
import type { DeliveryRecord, QueueDriver } from '../../src/queue/types.ts';
import { DeliveryWorkers, type WorkerOptions, type WorkerRoute } from '../../src/queue/worker.ts';
import { createLogger } from '../../src/telemetry/log.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';
import { refusedPort, sample, startTarget, type Target, type TargetHandler } from '../helpers.ts';

type RouteOverrides = Partial<Omit<WorkerRoute, 'queue' | 'retry'>> & {
  queue?: Partial<WorkerRoute['queue']>;
  retry?: Partial<Omit<WorkerRoute['retry'], 'retryOn'>>;
};

/** A route with fast retries, so tests finish quickly; each test overrides what it exercises. */
function route(overrides: RouteOverrides = {}): WorkerRoute {
  return {
    id: overrides.id ?? 'r1',
    auth: overrides.auth,
    retry: {
      attempts: 3,
      minDelay: 10,
      maxDelay: 20,
      maxRetryAfter: 3_600_000,
      factor: 2,
      jitter: false,
      ...overrides.retry,
      retryOn: statusMatcher([408, 429, '5xx']),
    },
    timeouts: { connect: 1_000, attempt: 2_000, ...overrides.timeouts },
    responseLimit: overrides.responseLimit ?? 1024 * 1024,
    queue: {
      concurrency: 4,
      maxAttempts: 5,
      maxAge: 3_600_000,
      lease: 30_000,
      idHeaders: ['Idempotency-Key', 'X-Hookrelay-Delivery'],
      ...overrides.queue,
    },
  };
}

/** Answers `statuses[i]` to the i-th request, the last one from then on. */
const sequence =
  (statuses: number[], headers: Record<string, string> = {}): TargetHandler =>
  (_req, res, i) => {
    const status = statuses[Math.min(i, statuses.length - 1)]!;
    res.statusCode = status;
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    res.end(`{"status":${status}}`);
  };

async function waitFor<T>(check: () => T | Promise<T>, timeout = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeout} ms`);
    await sleep(10);
  }
}

const drivers: [string, () => { driver: QueueDriver; cleanup: () => void }][] = [
  ['memory', () => ({ driver: new MemoryDriver(), cleanup: () => {} })],
  [
    'sqlite',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'hookrelay-worker-'));
      return {
        driver: new SqliteDriver(join(dir, 'queue.db')),
        cleanup: () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  ],
];

describe.each(drivers)('delivery workers (%s driver)', (_name, openDriver) => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    cleanups.length = 0;
  });

  async function target(handler?: TargetHandler): Promise<Target> {
    const t = await startTarget(handler);
    cleanups.push(() => t.close());
    return t;
  }

  function setup(routes: WorkerRoute[], options: Partial<WorkerOptions> = {}) {
    const { driver, cleanup } = openDriver();
    const clients = new Clients();
    const metrics = createMetrics({ version: 'test', defaultMetrics: false });
    const logs: Record<string, unknown>[] = [];
    const sink = {
      write(line: string) {
        logs.push(JSON.parse(line) as Record<string, unknown>);
        return true;
      },
    } as unknown as NodeJS.WritableStream;
    const workers = new DeliveryWorkers({
      driver,
      routes,
      clients,
      metrics,
      logger: createLogger('info', sink),
      pollInterval: 100,
      ...options,
    });
    cleanups.push(async () => {
      await workers.stop(0);
      await clients.close();
      await driver.close();
      cleanup();
    });
    return { driver, workers, metrics, logs };
  }

  async function enqueue(
    driver: QueueDriver,
    url: string,
    options: { routeId?: string; body?: string; headers?: Record<string, string>; createdAt?: number } = {},
  ): Promise<string> {
    const createdAt = options.createdAt ?? Date.now();
    const id = newDeliveryId(createdAt);
    await driver.enqueue({
      id,
      routeId: options.routeId ?? 'r1',
      requestId: `req-${id}`,
      request: {
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json', ...options.headers },
        body: Buffer.from(options.body ?? '{"order":42}'),
      },
      createdAt,
      nextAttemptAt: createdAt,
      attempts: 0,
    });
    return id;
  }

  async function finished(driver: QueueDriver, id: string, timeout?: number): Promise<DeliveryRecord> {
    return waitFor(async () => {
      const found = await driver.get(id);
      const status = found?.record.status;
      return status === 'delivered' || status === 'dead' ? found!.record : undefined;
    }, timeout);
  }

  it('delivers on the first try: acked with status and response snippet, logged without body', async () => {
    const t = await target();
    const { driver, workers, metrics, logs } = setup([route()]);
    const id = await enqueue(driver, `${t.url}/hook?x=1`, { body: '{"secret-body":1}' });
    workers.start();
    const record = await finished(driver, id);
    expect(record).toMatchObject({
      status: 'delivered',
      attempts: 1,
      lastStatus: 200,
      lastResponse: '{"ok":true}',
    });
    expect(t.received).toHaveLength(1);
    expect(t.received[0]).toMatchObject({ method: 'POST', url: '/hook?x=1' });
    expect(t.received[0]!.body.toString()).toBe('{"secret-body":1}');
    expect(t.received[0]!.headers['content-type']).toBe('application/json');
    const line = await waitFor(() => logs.find((l) => l.deliveryId === id));
    expect(line).toMatchObject({ route: 'r1', attempt: 1, status: 200, result: 'delivered' });
    expect(JSON.stringify(logs)).not.toContain('secret-body');
    const text = await metrics.registry.metrics();
    expect(sample(text, 'hookrelay_queue_deliveries_total', { route: 'r1', outcome: 'delivered' })).toBe(1);
    expect(sample(text, 'hookrelay_forward_attempts_total', { route: 'r1', outcome: '2xx' })).toBe(1);
  });

  it('503, 503, 200: delivered after three attempts with growing delays', async () => {
    const times: number[] = [];
    const t = await target((req, res, i) => {
      times.push(performance.now());
      sequence([503, 503, 200])(req, res, i);
    });
    const { driver, workers, logs } = setup([
      route({ retry: { minDelay: 100, maxDelay: 5_000, factor: 2 } }),
    ]);
    const id = await enqueue(driver, `${t.url}/hook`);
    workers.start();
    const record = await finished(driver, id);
    expect(record).toMatchObject({ status: 'delivered', attempts: 3, lastStatus: 200 });
    const history = (await driver.get(id))!.attempts;
    expect(history.map((a) => a.status)).toEqual([503, 503, 200]);
    const gap1 = times[1]! - times[0]!;
    const gap2 = times[2]! - times[1]!;
    expect(gap1).toBeGreaterThanOrEqual(90);
    expect(gap2).toBeGreaterThanOrEqual(190);
    expect(gap2).toBeGreaterThan(gap1);
    const retries = logs.filter((l) => l.deliveryId === id && l.result === 'retry');
    expect(retries).toHaveLength(2);
    expect(typeof retries[0]!.nextAttemptAt).toBe('string');
  });

  it('honours Retry-After (seconds) from the target', async () => {
    const times: number[] = [];
    const t = await target((req, res, i) => {
      times.push(performance.now());
      sequence([429, 200], { 'retry-after': '1' })(req, res, i);
    });
    const { driver, workers } = setup([route({ retry: { minDelay: 10, maxDelay: 10_000 } })]);
    const id = await enqueue(driver, `${t.url}/hook`);
    workers.start();
    expect(await finished(driver, id)).toMatchObject({ status: 'delivered', attempts: 2 });
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(950);
  });

  it('caps Retry-After at maxRetryAfter, not at maxDelay', async () => {
    const t = await target(sequence([503], { 'retry-after': '3600' }));
    const { driver, workers } = setup([route({ retry: { minDelay: 10, maxDelay: 20, maxRetryAfter: 200 } })]);
    const id = await enqueue(driver, `${t.url}/hook`);
    workers.start();
    const found = await waitFor(async () => {
      const f = await driver.get(id);
      return f && f.attempts.length >= 1 && f.record.status === 'pending' ? f : undefined;
    });
    const first = found.attempts[0]!;
    expect(found.record.nextAttemptAt).toBeGreaterThanOrEqual(first.at + 200);
    expect(found.record.nextAttemptAt).toBeLessThanOrEqual(first.at + first.durationMs + 250);
  });

  it('a non-retryable 400 is dead-lettered at once, with a 1 KB snippet of the answer', async () => {
    const t = await target((_req, res) => {
      res.statusCode = 400;
      res.end(`bad request ${'x'.repeat(5_000)}`);
    });
    const { driver, workers, metrics } = setup([route()]);
    const id = await enqueue(driver, `${t.url}/hook`);
    workers.start();
    const record = await finished(driver, id);
    expect(record).toMatchObject({ status: 'dead', attempts: 1, lastStatus: 400 });
    expect(record.lastError).toMatch(/400/);
    expect(record.lastResponse).toHaveLength(1024);
    expect(record.lastResponse!.startsWith('bad request x')).toBe(true);
    expect(t.received).toHaveLength(1);
    const text = await metrics.registry.metrics();
    expect(sample(text, 'hookrelay_queue_deliveries_total', { route: 'r1', outcome: 'dead' })).toBe(1);
  });

  for (const chunked of [false, true]) {
    it(`a 2xx larger than limits.response (${chunked ? 'chunked' : 'Content-Length'}) is delivered, with a snippet of it`, async () => {
      const t = await target((_req, res) => {
        res.statusCode = 200;
        if (!chunked) {
          res.end(`accepted ${'y'.repeat(8_000)}`);
          return;
        }
        res.write('accepted ');
        for (let i = 0; i < 8; i++) res.write('y'.repeat(1_000));
        res.end();
      });
      const { driver, workers, metrics } = setup([route({ responseLimit: 2_048 })]);
      const id = await enqueue(driver, `${t.url}/hook`);
      workers.start();
      const record = await finished(driver, id);
      expect(record).toMatchObject({
        status: 'delivered',
        attempts: 1,
        lastStatus: 200,
        lastError: undefined,
      });
      expect(record.lastResponse).toHaveLength(1024);
      expect(record.lastResponse!.startsWith('accepted yyy')).toBe(true);
      expect(t.received).toHaveLength(1);
      const text = await metrics.registry.metrics();
      expect(sample(text, 'hookrelay_queue_deliveries_total', { route: 'r1', outcome: 'delivered' })).toBe(1);
    });
  }

  it('a 503 larger than limits.response is retried as a 503, not dead-lettered', async () => {
    const t = await target((_req, res, i) => {
      res.statusCode = i === 0 ? 503 : 200;
      res.end(i === 0 ? `<html>${'busy '.repeat(2_000)}</html>` : 'ok');
    });
    const { driver, workers } = setup([route({ responseLimit: 1_024 })]);
    const id = await enqueue(driver, `${t.url}/hook`);
    workers.start();
    const record = await finished(driver, id);
    expect(record).toMatchObject({ status: 'delivered', attempts: 2, lastStatus: 200 });
    expect((await driver.get(id))!.attempts.map((a) => a.status)).toEqual([503, 200]);
  });

  it('a refused connection is retried until maxAttempts, then dead with the last error', async () => {
    const port = await refusedPort();
    const { driver, workers } = setup([route({ queue: { maxAttempts: 3 } })]);
    const id = await enqueue(driver, `http://127.0.0.1:${port}/hook`);
    workers.start();
    const record = await finished(driver, id);
    expect(record).toMatchObject({ status: 'dead', attempts: 3, lastStatus: undefined });
    expect(record.lastError).toMatch(/ECONNREFUSED/);
    expect(record.lastError).toMatch(/3 attempts/);
    const history = (await driver.get(id))!.attempts;
    expect(history).toHaveLength(3);
    for (const a of history) expect(a.error).toMatch(/ECONNREFUSED/);
  });

  it('stores the error code of each attempt: refused is UNREACHABLE, no answer in time TIMEOUT, an answer none', async () => {
    const port = await refusedPort();
    const slow = await target(() => {}); // never answers
    const busy = await target(sequence([503]));
    const { driver, workers } = setup([
      route({ id: 'refused', queue: { maxAttempts: 2 } }),
      route({ id: 'slow', queue: { maxAttempts: 1 }, timeouts: { connect: 1_000, attempt: 200 } }),
      route({ id: 'busy', queue: { maxAttempts: 1 } }),
    ]);
    const refused = await enqueue(driver, `http://127.0.0.1:${port}/hook`, { routeId: 'refused' });
    const timedOut = await enqueue(driver, `${slow.url}/hook`, { routeId: 'slow' });
    const answered = await enqueue(driver, `${busy.url}/hook`, { routeId: 'busy' });
    workers.start();
    expect(await finished(driver, refused)).toMatchObject({
      status: 'dead',
      lastCode: 'HOOKRELAY_ERR_UPSTREAM_UNREACHABLE',
    });
    expect((await driver.get(refused))!.attempts.map((a) => a.code)).toEqual([
      'HOOKRELAY_ERR_UPSTREAM_UNREACHABLE',
      'HOOKRELAY_ERR_UPSTREAM_UNREACHABLE',
    ]);
    expect(await finished(driver, timedOut)).toMatchObject({
      status: 'dead',
      lastCode: 'HOOKRELAY_ERR_UPSTREAM_TIMEOUT',
    });
    expect(await finished(driver, answered)).toMatchObject({
      status: 'dead',
      lastStatus: 503,
      lastCode: undefined,
    });
    expect(await driver.count({ status: 'dead', code: 'HOOKRELAY_ERR_UPSTREAM_TIMEOUT' })).toBe(1);
  });

  it('a delivery older than maxAge gets one more attempt, then is dead', async () => {
    const t = await target(sequence([503]));
    const { driver, workers } = setup([route({ queue: { maxAge: 60_000, maxAttempts: 100 } })]);
    const id = await enqueue(driver, `${t.url}/hook`, { createdAt: Date.now() - 120_000 });
    workers.start();
    const record = await finished(driver, id);
    expect(record).toMatchObject({ status: 'dead', attempts: 1, lastStatus: 503 });
    expect(record.lastError).toMatch(/maxAge/);
    expect(t.received).toHaveLength(1);
  });

  it('sends the same delivery id in every id header on every attempt', async () => {
    const t = await target(sequence([503, 500, 200]));
    const { driver, workers } = setup([route({ queue: { idHeaders: ['Idempotency-Key', 'X-Delivery'] } })]);
    const id = await enqueue(driver, `${t.url}/hook`);
    workers.start();
    await finished(driver, id);
    expect(t.received).toHaveLength(3);
    for (const r of t.received) {
      expect(r.headers['idempotency-key']).toBe(id);
      expect(r.headers['x-delivery']).toBe(id);
    }
  });

  it('applies credentials per attempt on a copy: rotated values used, none stored or logged', async () => {
    const t = await target(sequence([503, 200]));
    let applied = 0;
    const rotating: OutboundAuth = {
      apply(request) {
        applied += 1;
        request.headers.authorization = `Bearer token-${applied}`;
        request.url.searchParams.set('api_key', `key-${applied}`);
      },
    };
    const { driver, workers, logs } = setup([route({ auth: rotating })]);
    const id = await enqueue(driver, `${t.url}/hook?a=1`);
    workers.start();
    expect(await finished(driver, id)).toMatchObject({ status: 'delivered', attempts: 2 });
    expect(t.received.map((r) => r.headers.authorization)).toEqual(['Bearer token-1', 'Bearer token-2']);
    expect(t.received.map((r) => r.url)).toEqual(['/hook?a=1&api_key=key-1', '/hook?a=1&api_key=key-2']);
    const stored = (await driver.get(id))!.record.request;
    expect(stored.headers.authorization).toBeUndefined();
    expect(stored.url).toBe(`${t.url}/hook?a=1`);
    expect(JSON.stringify(logs)).not.toMatch(/token-|key-\d/);
  });

  it('applies a configured auth plugin (bearer)', async () => {
    const t = await target();
    const auth = bearerAuth.create({ type: 'bearer', token: 's3cret' });
    const { driver, workers } = setup([route({ auth })]);
    const id = await enqueue(driver, `${t.url}/hook`);
    workers.start();
    await finished(driver, id);
    expect(t.received[0]!.headers.authorization).toBe('Bearer s3cret');
  });

  it('respects the route concurrency limit', async () => {
    let current = 0;
    let max = 0;
    const t = await target(async (_req, res) => {
      current += 1;
      max = Math.max(max, current);
      await sleep(150);
      current -= 1;
      res.end('ok');
    });
    const { driver, workers } = setup([route({ queue: { concurrency: 3 } })]);
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await enqueue(driver, `${t.url}/hook`));
    workers.start();
    for (const id of ids) expect((await finished(driver, id)).status).toBe('delivered');
    expect(max).toBe(3);
    expect(t.received).toHaveLength(10);
  });

  it('respects the route rate limit', async () => {
    const starts: number[] = [];
    const t = await target((_req, res) => {
      starts.push(performance.now());
      res.end('ok');
    });
    const { driver, workers } = setup([route({ queue: { concurrency: 10, rateLimit: 5 } })]);
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await enqueue(driver, `${t.url}/hook`));
    workers.start();
    for (const id of ids) expect((await finished(driver, id)).status).toBe('delivered');
    // 5 per second with a burst of one: no one-second window holds more than 6 starts; allow one
    // more for network jitter between the worker and the target.
    for (const first of starts) {
      expect(starts.filter((s) => s >= first && s < first + 1_000).length).toBeLessThanOrEqual(7);
    }
    expect(starts[9]! - starts[0]!).toBeGreaterThanOrEqual(1_400);
  });

  it('opens the circuit after consecutive failures, pauses for the cooldown, then probes once', async () => {
    let healthy = false;
    const t = await target((_req, res) => {
      res.statusCode = healthy ? 200 : 503;
      res.end();
    });
    const { driver, workers, metrics } = setup([
      route({
        queue: { concurrency: 2, maxAttempts: 1_000, circuitBreaker: { failures: 3, cooldown: 1_500 } },
      }),
    ]);
    const a = await enqueue(driver, `${t.url}/hook`);
    const b = await enqueue(driver, `${t.url}/hook`);
    expect(workers.circuit('r1')).toBe('closed');
    workers.start();
    await waitFor(() => workers.circuit('r1') === 'open' && workers.inFlight === 0);
    const base = t.received.length;
    expect(base).toBeGreaterThanOrEqual(3);
    expect(base).toBeLessThanOrEqual(4); // the third failure opens it; a fourth may have been in flight
    const text = await metrics.registry.metrics();
    expect(sample(text, 'hookrelay_circuit_state', { route: 'r1', state: 'open' })).toBe(1);
    expect(sample(text, 'hookrelay_circuit_state', { route: 'r1', state: 'closed' })).toBe(0);
    await sleep(500);
    expect(t.received).toHaveLength(base); // nothing during the cooldown
    // Half-open: exactly one probe, which fails and re-opens the circuit.
    await waitFor(
      () => t.received.length > base && workers.circuit('r1') === 'open' && workers.inFlight === 0,
    );
    expect(t.received).toHaveLength(base + 1);
    healthy = true;
    await finished(driver, a);
    await finished(driver, b);
    expect(t.received).toHaveLength(base + 3);
    expect(workers.circuit('r1')).toBe('closed');
  });

  it('stop(grace) waits for an attempt in flight to finish', async () => {
    const t = await target(async (_req, res) => {
      await sleep(300);
      res.end('ok');
    });
    const { driver, workers } = setup([route()]);
    const id = await enqueue(driver, `${t.url}/hook`);
    workers.start();
    await waitFor(() => t.received.length === 1);
    expect(await workers.stop(10_000)).toEqual({ released: 0 });
    expect((await driver.get(id))!.record).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('stop(grace) releases the leases of attempts still running after the grace', async () => {
    const held: ServerResponse[] = [];
    const t = await target((_req, res) => {
      held.push(res);
    });
    cleanups.push(() => {
      for (const res of held) res.destroy();
    });
    const { driver, workers } = setup([route()]);
    const id = await enqueue(driver, `${t.url}/hook`);
    workers.start();
    await waitFor(() => t.received.length === 1);
    expect(await workers.stop(200)).toEqual({ released: 1 });
    const { record, attempts } = (await driver.get(id))!;
    expect(record).toMatchObject({ status: 'pending', attempts: 0, leaseUntil: undefined });
    expect(attempts).toHaveLength(0);
  });

  it('picks up a delivery whose lease expired (a crashed worker)', async () => {
    const t = await target();
    const { driver, workers } = setup([route()]);
    const id = await enqueue(driver, `${t.url}/hook`);
    const leased = await driver.lease('r1', 10, 300, Date.now());
    expect(leased.map((r) => r.id)).toEqual([id]);
    workers.start();
    const record = await finished(driver, id);
    expect(record).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(t.received).toHaveLength(1);
  });

  it('notify wakes a sleeping loop long before the poll interval', async () => {
    const t = await target();
    const { driver, workers } = setup([route()], { pollInterval: 60_000 });
    workers.start();
    await sleep(100); // the loop found nothing and sleeps for the poll interval
    const id = await enqueue(driver, `${t.url}/hook`);
    workers.notify('r1');
    expect((await finished(driver, id, 10_000)).status).toBe('delivered');
  });

  it('keeps looping after driver errors', async () => {
    const t = await target();
    const { driver, workers, logs } = setup([route()], { errorBackoff: 50 });
    let failures = 2;
    const lease = driver.lease.bind(driver);
    driver.lease = (...args) => (failures-- > 0 ? Promise.reject(new Error('disk on fire')) : lease(...args));
    const id = await enqueue(driver, `${t.url}/hook`);
    workers.start();
    expect((await finished(driver, id)).status).toBe('delivered');
    // Two failures in a row are one condition: logged when it starts and when it ends, with the count.
    expect(logs.filter((l) => l.msg === 'delivery worker error')).toHaveLength(1);
    expect(logs.filter((l) => l.msg === 'delivery worker recovered')).toMatchObject([
      { route: 'r1', stage: 'lease', failed: 2, reason: 'disk on fire' },
    ]);
  });

  it('runs routes independently', async () => {
    const t = await target();
    const { driver, workers } = setup([route({ id: 'a' }), route({ id: 'b' })]);
    const a = await enqueue(driver, `${t.url}/a`, { routeId: 'a' });
    const b = await enqueue(driver, `${t.url}/b`, { routeId: 'b' });
    workers.start();
    expect((await finished(driver, a)).status).toBe('delivered');
    expect((await finished(driver, b)).status).toBe('delivered');
    expect(t.received.map((r) => r.url).sort()).toEqual(['/a', '/b']);
  });
});

describe('decide', () => {
  const record = (attempts: number, createdAt: number) => ({ attempts, createdAt }) as DeliveryRecord;
  const response = (status: number) => ({ status, headers: {}, body: Buffer.from('x') });

  it('schedules the last retry on the maxAge boundary, not past it', () => {
    const r = route({
      queue: { maxAge: 1_000, maxAttempts: 100 },
      retry: { minDelay: 800, maxDelay: 10_000 },
    });
    const decision = decide(record(3, 0), response(503), r, 500);
    expect(decision).toMatchObject({ kind: 'retry', nextAttemptAt: 1_000 });
  });

  it('a Retry-After wins over the backoff and its cap, up to maxRetryAfter and the maxAge boundary', () => {
    const limited = (retryAfter: string) => ({
      status: 503,
      headers: { 'retry-after': retryAfter },
      body: Buffer.from(''),
    });
    const r = route({
      queue: { maxAge: 7_200_000, maxAttempts: 100 },
      retry: { minDelay: 100, maxDelay: 1_000, maxRetryAfter: 3_600_000 },
    });
    expect(decide(record(1, 0), limited('600'), r, 0)).toMatchObject({
      kind: 'retry',
      nextAttemptAt: 600_000,
    });
    expect(decide(record(1, 0), limited('86400'), r, 0)).toMatchObject({
      kind: 'retry',
      nextAttemptAt: 3_600_000,
    });
    expect(decide(record(1, 0), limited('3600'), r, 6_000_000)).toMatchObject({
      kind: 'retry',
      nextAttemptAt: 7_200_000,
    });
  });

  it('uses jittered exponential backoff within [delay/2, delay]', () => {
    const r = route({ retry: { minDelay: 100, maxDelay: 10_000, factor: 2, jitter: true } });
    const low = decide(record(2, 0), response(503), r, 0, () => 0);
    const high = decide(record(2, 0), response(503), r, 0, () => 1);
    expect(low).toMatchObject({ kind: 'retry', nextAttemptAt: 200 });
    expect(high).toMatchObject({ kind: 'retry', nextAttemptAt: 400 });
  });

  it('an answer too large to read in full is judged by its status', () => {
    const truncated = (status: number) => ({ ...response(status), truncated: true });
    expect(decide(record(0, 0), truncated(200), route(), 0)).toMatchObject({
      kind: 'delivered',
      status: 200,
    });
    expect(decide(record(0, 0), truncated(503), route(), 0)).toMatchObject({ kind: 'retry' });
    expect(decide(record(0, 0), truncated(404), route(), 0)).toMatchObject({ kind: 'dead' });
  });

  it('a hybrid hand-off schedules its first queued attempt as a worker would after the same attempts', () => {
    const config = parseConfig(
      `queue: { driver: memory }
routes:
  - id: h
    path: /h
    delivery: hybrid
    forward: { url: "http://127.0.0.1:1/h" }
    retry: { attempts: 3, minDelay: 10ms, maxDelay: 50ms, maxRetryAfter: 1s, jitter: false }
    queue: { minDelay: 2s, maxDelay: 30s, maxRetryAfter: 2h, maxAge: 1d }
`,
      'hookrelay.yaml',
      { env: {} },
    );
    const [hybrid] = compileRoutes(config) as HybridRoute[];
    const worker = workerRoute(hybrid!);
    const now = 5_000_000;
    const cases: (TargetResponse | undefined)[] = [
      response(503),
      { status: 429, headers: { 'retry-after': '3600' }, body: Buffer.from('') },
      undefined,
    ];
    for (const last of cases) {
      for (const attempts of [1, 3, 10]) {
        const error = last ? undefined : new Error('connect ECONNREFUSED 127.0.0.1:1');
        const handOff = firstQueuedAttemptAt(hybrid!, { attempts, response: last, error }, { now });
        // The worker's view: the record holds the attempts before the last, made at `now`.
        const decision = decide(record(attempts - 1, now), last ?? error!, worker, now);
        expect(decision).toMatchObject({ kind: 'retry' });
        expect(handOff).toBe((decision as { nextAttemptAt: number }).nextAttemptAt);
      }
    }
    // The queue's settings, not the synchronous ones: 2 s after one attempt, a Retry-After of an hour.
    expect(
      firstQueuedAttemptAt(hybrid!, { attempts: 1, response: response(503), error: undefined }, { now }),
    ).toBe(now + 2_000);
    expect(
      firstQueuedAttemptAt(hybrid!, { attempts: 3, response: cases[1], error: undefined }, { now }),
    ).toBe(now + 3_600_000);
  });
});
