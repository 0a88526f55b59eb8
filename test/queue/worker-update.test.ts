import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { Clients } from '../../src/delivery/client.ts';
import { statusMatcher } from '../../src/delivery/policy.ts';
import { newDeliveryId } from '../../src/queue/ids.ts';
import { MemoryDriver } from '../../src/queue/memory.ts';
import type { QueueDriver } from '../../src/queue/types.ts';
import { DeliveryWorkers, type WorkerRoute } from '../../src/queue/worker.ts';
import { createLogger } from '../../src/telemetry/log.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';
import { startTarget, type Target, type TargetHandler } from '../helpers.ts';

/**
 * `DeliveryWorkers.update`, what a configuration reload does to the workers: new route
 * definitions at once, attempts in flight finished on the old ones and counted toward the
 * concurrency, a removed route's deliveries left in the store, an open circuit kept.
 */

function route(url: string, overrides: Partial<WorkerRoute['queue']> = {}, id = 'r1'): WorkerRoute {
  return {
    id,
    auth: undefined,
    targetUrl: () => new URL(`${url}/hook`),
    retry: {
      attempts: 3,
      minDelay: 10,
      maxDelay: 20,
      maxRetryAfter: 3_600_000,
      factor: 2,
      jitter: false,
      retryOn: statusMatcher([408, 429, '5xx']),
    },
    timeouts: { connect: 1_000, attempt: 5_000 },
    responseLimit: 1024 * 1024,
    queue: {
      concurrency: 1,
      maxAttempts: 5,
      maxAge: 3_600_000,
      lease: 30_000,
      idHeaders: [],
      ...overrides,
    },
  };
}

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

function setup(routes: WorkerRoute[]) {
  const driver = new MemoryDriver();
  const clients = new Clients();
  const metrics = createMetrics({ version: 'test', defaultMetrics: false });
  const workers = new DeliveryWorkers({
    driver,
    routes,
    clients,
    metrics,
    logger: createLogger('silent'),
    pollInterval: 50,
  });
  cleanups.push(async () => {
    await workers.stop(0);
    await clients.close();
    await driver.close();
  });
  return { driver, workers };
}

async function enqueue(driver: QueueDriver, body: string, routeId = 'r1'): Promise<string> {
  const createdAt = Date.now();
  const id = newDeliveryId(createdAt);
  await driver.enqueue({
    id,
    routeId,
    requestId: `req-${id}`,
    request: {
      method: 'POST',
      url: 'http://stored.invalid/hook',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(body),
      target: { params: {}, rawQuery: '' },
    },
    createdAt,
    nextAttemptAt: createdAt,
    attempts: 0,
  });
  return id;
}

const statusOf = async (driver: QueueDriver, id: string) => (await driver.get(id))?.record.status;

describe('DeliveryWorkers.update (a reload)', () => {
  it('the attempt in flight finishes on the old route and counts toward concurrency; the next goes to the new one', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const a = await target(async (_req, res) => {
      await held;
      res.end('{}');
    });
    const b = await target();
    const { driver, workers } = setup([route(a.url)]);
    workers.start();
    const first = await enqueue(driver, '{"n":1}');
    await expect.poll(() => a.received.length).toBe(1);
    const second = await enqueue(driver, '{"n":2}');
    const moved = workers.update([route(b.url)]);
    workers.notify('r1');
    // Concurrency 1: the old loop's attempt still runs, so the new loop starts nothing yet.
    await sleep(300);
    expect(b.received).toHaveLength(0);
    expect(await statusOf(driver, second)).toBe('pending');
    release();
    await moved;
    expect(await statusOf(driver, first)).toBe('delivered');
    await expect.poll(() => statusOf(driver, second)).toBe('delivered');
    expect(b.received.map((r) => r.body.toString())).toEqual(['{"n":2}']);
    expect(a.received).toHaveLength(1);
  });

  it("a removed route's deliveries stay pending in the store and are delivered when it returns", async () => {
    const t = await target();
    const { driver, workers } = setup([route(t.url)]);
    workers.update([]);
    workers.start();
    const ids = [await enqueue(driver, '{"n":1}'), await enqueue(driver, '{"n":2}')];
    await sleep(300);
    expect(t.received).toHaveLength(0);
    for (const id of ids) expect(await statusOf(driver, id)).toBe('pending');
    expect(workers.routeIds).toEqual([]);
    await workers.update([route(t.url)]);
    for (const id of ids) await expect.poll(() => statusOf(driver, id)).toBe('delivered');
    expect(t.received).toHaveLength(2);
  });

  it('an open circuit stays open across a reload with the same breaker settings, not with new ones', async () => {
    const t = await target((_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    const breaker = { circuitBreaker: { failures: 1, cooldown: 60_000 } };
    const { driver, workers } = setup([route(t.url, breaker)]);
    workers.start();
    await enqueue(driver, '{"n":1}');
    await expect.poll(() => workers.circuit('r1')).toBe('open');
    await workers.update([route(t.url, breaker)]);
    expect(workers.circuit('r1')).toBe('open');
    await workers.update([route(t.url, { circuitBreaker: { failures: 5, cooldown: 60_000 } })]);
    expect(workers.circuit('r1')).toBe('closed');
  });

  it('refuses two routes with one id', () => {
    const { workers } = setup([]);
    expect(() => workers.update([route('http://127.0.0.1:9'), route('http://127.0.0.1:9')])).toThrow(
      "duplicate worker route 'r1'",
    );
  });
});
