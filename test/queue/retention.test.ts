import { describe, expect, it } from 'vitest';
import { MemoryDriver } from '../../src/queue/memory.ts';
import { Queue } from '../../src/queue/queue.ts';
import { createLogger } from '../../src/telemetry/log.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';

const DAY = 86_400_000;

function delivery(id: string, createdAt: number) {
  return {
    id,
    routeId: 'r',
    requestId: id,
    request: { method: 'POST', url: 'http://127.0.0.1:9/x', headers: {}, body: Buffer.from('{}') },
    createdAt,
    nextAttemptAt: createdAt,
    attempts: 0,
  };
}

describe('queue retention', () => {
  it('purges delivered records after retention.delivered and dead ones after retention.dead, never pending ones', async () => {
    const driver = new MemoryDriver();
    const sink = { write: () => true } as unknown as NodeJS.WritableStream;
    const queue = new Queue(
      driver,
      {
        driver: 'memory',
        path: '',
        retention: { delivered: 7 * DAY, dead: 30 * DAY },
        maxPending: 100,
        maxPendingBytes: 1e9,
        keepAttempts: 20,
      },
      new Map([['r', { maxPending: 100, maxPendingBytes: 1e9 }]]),
      createMetrics({ version: 't', defaultMetrics: false }),
      createLogger('silent', sink),
    );
    const now = Date.now();
    for (const id of ['a', 'b', 'c', 'd', 'e']) await driver.enqueue(delivery(id, now));
    const attempt = { at: now, durationMs: 1, status: 200, error: undefined };
    const leased = await driver.lease('r', 5, 60_000, now);
    expect(leased).toHaveLength(5);
    await driver.ack('a', { status: 200, response: undefined, attempt });
    await driver.ack('b', { status: 200, response: undefined, attempt });
    await driver.dead('c', { reason: 'gone' });
    await driver.dead('d', { reason: 'gone' });
    await driver.release(['e']);

    // Eight days later: delivered records are past their 7 days, dead ones are not past 30.
    await queue.purge(Date.now() + 8 * DAY);
    expect((await driver.list({})).map((r) => r.id).sort()).toEqual(['c', 'd', 'e']);
    // Thirty-one days later: dead letters go too; the pending one stays, whatever its age.
    await queue.purge(Date.now() + 31 * DAY);
    expect((await driver.list({})).map((r) => r.id)).toEqual(['e']);
    await driver.close();
  });
});
