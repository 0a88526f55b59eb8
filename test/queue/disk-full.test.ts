import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ErrorBody } from '../../src/pipeline/reply.ts';
import { SQLITE_MAX_PAGES, SqliteDriver } from '../../src/queue/sqlite.ts';
import { type Relay, refusedPort, sample, startRelay } from '../helpers.ts';

/**
 * A full disk, for real: the relay's own SQLite connection is capped at the file's size
 * (`PRAGMA max_page_count`), so every write that needs a page fails with SQLITE_FULL through the
 * same code path as on a full file system. Callers are refused with 503, the condition is logged
 * once per change of state (not once per caller), and nothing acknowledged is lost.
 */

const dir = mkdtempSync(join(tmpdir(), 'hookrelay-full-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the queue store refusing writes (disk full)', () => {
  let relay: Relay | undefined;
  afterEach(async () => {
    await relay?.close();
    relay = undefined;
  });

  it('refuses every caller with 503, logs "queue writes failing" once per change, loses nothing', async () => {
    const path = join(dir, 'queue.db');
    const port = await refusedPort();
    relay = await startRelay(`
queue: { driver: sqlite, path: ${path} }
admin: { enabled: false }
routes:
  - id: orders
    path: /in/orders
    delivery: async
    forward: { url: "http://127.0.0.1:${port}/hook" }
    queue: { maxPending: 10, minDelay: 1h, maxDelay: 1h }
`);
    const r = relay;
    const driver = r.app.queue!.driver as SqliteDriver;
    // 4 KB bodies: each one needs new pages, so none fits into a page already in the file.
    const post = async (n: number) => {
      const res = await fetch(`${r.url}/in/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ n, pad: 'p'.repeat(4_000) }),
      });
      return { status: res.status, body: (await res.json()) as ErrorBody & { deliveryId?: string } };
    };
    const acknowledged: string[] = [];
    const accept = async (n: number) => {
      const { status, body } = await post(n);
      expect(status).toBe(202);
      acknowledged.push(body.deliveryId!);
    };
    const lines = (msg: string) => r.logs.filter((l) => l.msg === msg);

    for (let n = 0; n < 3; n++) await accept(n);

    // The disk fills up. The file may hold a free page or two: what still fits is stored (and
    // acknowledged), until the first refusal.
    const fill = async (from: number) => {
      driver.limitPages();
      for (let n = from; n < from + 20; n++) {
        const answer = await post(n);
        if (answer.status !== 202) return answer;
        acknowledged.push(answer.body.deliveryId!);
      }
      throw new Error('the capped file took 20 more webhooks');
    };
    expect((await fill(10)).status).toBe(503);
    const refused = await Promise.all(Array.from({ length: 49 }, (_, i) => post(100 + i)));
    for (const { status, body } of refused) {
      expect(status).toBe(503);
      expect(body).toMatchObject({ error: 'HOOKRELAY_ERR_QUEUE_UNAVAILABLE', route: 'orders' });
      expect(body.message).toMatch(/database or disk is full/);
    }
    expect(lines('queue writes failing')).toHaveLength(1);
    expect(lines('queue writes failing')[0]).toMatchObject({
      level: 'error',
      reason: 'database or disk is full',
    });
    expect(lines('queue write failed')).toEqual([]);
    // Every refused caller still has its request line, and the failures are counted.
    expect(lines('request').filter((l) => l.status === 503)).toHaveLength(50);
    const metrics = await r.app.metrics.registry.metrics();
    expect(sample(metrics, 'hookrelay_queue_enqueued_total', { route: 'orders', result: 'failed' })).toBe(50);

    // Space again: the next webhook is stored (the refused ones gave their reservations back, or
    // maxPending: 10 would refuse it), and the recovery is logged once, with the count.
    driver.limitPages(SQLITE_MAX_PAGES);
    await accept(3);
    expect(lines('queue writes recovered')).toHaveLength(1);
    expect(lines('queue writes recovered')[0]).toMatchObject({ level: 'info', failed: 50 });
    await accept(4);
    expect(lines('queue writes recovered')).toHaveLength(1);

    // Full again: one more line for the new change of state.
    expect((await fill(200)).status).toBe(503);
    expect((await post(300)).status).toBe(503);
    expect(lines('queue writes failing')).toHaveLength(2);
    driver.limitPages(SQLITE_MAX_PAGES);
    await accept(5);
    expect(lines('queue writes recovered')).toHaveLength(2);
    expect(lines('queue writes recovered')[1]).toMatchObject({ failed: 2 });

    // Everything acknowledged is in the file, as a fresh connection sees it after the relay stops.
    await r.close();
    relay = undefined;
    const reopened = new SqliteDriver(path);
    try {
      for (const id of acknowledged) expect((await reopened.get(id))?.record.routeId).toBe('orders');
      expect((await reopened.list({ limit: 100 })).map((d) => d.id).sort()).toEqual([...acknowledged].sort());
    } finally {
      await reopened.close();
    }
  });
});
