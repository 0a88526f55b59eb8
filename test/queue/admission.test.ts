import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type Relay, refusedPort, sample, startRelay } from '../helpers.ts';

/**
 * Backpressure under a real burst: the queue limits (`maxPending`, `maxPendingBytes`, per route
 * and across routes) hold when many callers arrive at once. The burst is made of keep-alive
 * sockets that are connected and warmed up first, then all written to in one tick, so the relay
 * parses every request before it commits the first one: the case where checking the limit before
 * the write and counting after the commit let every caller through.
 */

const dir = mkdtempSync(join(tmpdir(), 'hookrelay-admission-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

interface Answer {
  status: number;
  body: string;
}

/** Reads one HTTP/1.1 answer with a Content-Length from a keep-alive socket. */
function readAnswer(socket: Socket): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const text = buffer.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end === -1) return;
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(text.slice(0, end))?.[1] ?? 0);
      if (buffer.length < end + 4 + length) return;
      socket.off('data', onData);
      socket.off('error', reject);
      resolve({ status: Number(text.slice(9, 12)), body: text.slice(end + 4, end + 4 + length) });
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

/** One POST per body, each on its own connection, all written in the same tick. */
async function burst(
  port: number,
  paths: string[],
  bodies: Buffer[],
  contentType = 'application/octet-stream',
): Promise<Answer[]> {
  const sockets = await Promise.all(
    bodies.map(
      () =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect(port, '127.0.0.1', () => resolve(socket));
          socket.once('error', reject);
        }),
    ),
  );
  try {
    // Warm-up: once each socket has been answered, the relay has accepted and parsed on it.
    await Promise.all(
      sockets.map((socket) => {
        const answer = readAnswer(socket);
        socket.write('GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
        return answer;
      }),
    );
    const answers = sockets.map(readAnswer);
    sockets.forEach((socket, i) => {
      const body = bodies[i]!;
      const head = `POST ${paths[i % paths.length]} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: ${contentType}\r\ncontent-length: ${body.length}\r\n\r\n`;
      socket.write(Buffer.concat([Buffer.from(head), body]));
    });
    return await Promise.all(answers);
  } finally {
    for (const socket of sockets) socket.destroy();
  }
}

describe('queue limits under a burst of concurrent callers', () => {
  let relay: Relay | undefined;
  afterEach(async () => {
    await relay?.close();
    relay = undefined;
  });

  /** Async routes whose target refuses connections, retried only after an hour: nothing leaves the queue. */
  async function setup(routes: { id: string; queue: string }[], top = ''): Promise<Relay> {
    const port = await refusedPort();
    relay = await startRelay(`
queue: { driver: sqlite, path: ${join(dir, `q${++files}`, 'queue.db')}${top} }
admin: { enabled: false }
routes:
${routes
  .map(
    (r) => `  - id: ${r.id}
    path: /in/${r.id}
    delivery: async
    forward: { url: "http://127.0.0.1:${port}/hook" }
    queue: { minDelay: 1h, maxDelay: 1h, ${r.queue} }`,
  )
  .join('\n')}
`);
    return relay;
  }

  /** The 202 answers with their delivery ids and body sizes; every other answer must be QUEUE_FULL. */
  function accepted(answers: Answer[], bodies: Buffer[]): { id: string; bytes: number }[] {
    const out: { id: string; bytes: number }[] = [];
    answers.forEach((answer, i) => {
      if (answer.status === 202) {
        out.push({
          id: (JSON.parse(answer.body) as { deliveryId: string }).deliveryId,
          bytes: bodies[i]!.length,
        });
      } else {
        expect(answer.status).toBe(503);
        expect(JSON.parse(answer.body)).toMatchObject({ error: 'HOOKRELAY_ERR_QUEUE_FULL' });
      }
    });
    return out;
  }

  async function expectStored(r: Relay, ids: string[]): Promise<void> {
    for (const id of ids) expect((await r.app.queue!.driver.get(id))?.record.id).toBe(id);
  }

  it('route maxPending: 100 — 200 concurrent callers, exactly 100 acknowledged and stored', async () => {
    const r = await setup([{ id: 'orders', queue: 'maxPending: 100' }]);
    const bodies = Array.from({ length: 200 }, (_, i) => Buffer.from(`{"n":${i}}`));
    const ok = accepted(await burst(Number(new URL(r.url).port), ['/in/orders'], bodies), bodies);
    expect(ok).toHaveLength(100);
    await expectStored(
      r,
      ok.map((a) => a.id),
    );
    const stats = (await r.app.queue!.driver.stats()).byRoute.orders!;
    expect(stats.pending.count + stats.inflight.count).toBe(100);
    const metrics = await r.app.metrics.registry.metrics();
    expect(sample(metrics, 'hookrelay_queue_enqueued_total', { route: 'orders', result: 'accepted' })).toBe(
      100,
    );
    expect(sample(metrics, 'hookrelay_queue_enqueued_total', { route: 'orders', result: 'full' })).toBe(100);
  });

  it('route maxPendingBytes: 64kb — the bytes acknowledged never exceed it', async () => {
    const r = await setup([{ id: 'orders', queue: 'maxPendingBytes: 64kb' }]);
    const bodies = Array.from({ length: 200 }, (_, i) => Buffer.alloc(1_500 + ((i * 37) % 1_000), 'a'));
    const ok = accepted(await burst(Number(new URL(r.url).port), ['/in/orders'], bodies), bodies);
    const bytes = ok.reduce((sum, a) => sum + a.bytes, 0);
    expect(bytes).toBeLessThanOrEqual(64 * 1024);
    // Filled, not merely refused: the next body would not have fitted.
    expect(bytes).toBeGreaterThan(64 * 1024 - 2_500);
    await expectStored(
      r,
      ok.map((a) => a.id),
    );
    const stats = (await r.app.queue!.driver.stats()).byRoute.orders!;
    expect(stats.pending.bytes + stats.inflight.bytes).toBe(bytes);
  });

  it('top-level maxPending: 60 across two routes — 150 concurrent callers, 60 acknowledged', async () => {
    const r = await setup(
      [
        { id: 'a', queue: 'maxPending: 1000' },
        { id: 'b', queue: 'maxPending: 1000' },
      ],
      ', maxPending: 60',
    );
    const bodies = Array.from({ length: 150 }, (_, i) => Buffer.from(`{"n":${i}}`));
    const answers = await burst(Number(new URL(r.url).port), ['/in/a', '/in/b'], bodies);
    const ok = accepted(answers, bodies);
    expect(ok).toHaveLength(60);
    await expectStored(
      r,
      ok.map((a) => a.id),
    );
    for (const answer of answers.filter((a) => a.status === 503)) {
      expect(JSON.parse(answer.body).message).toMatch(/global limit of 60 deliveries/);
    }
  });

  it('top-level maxPendingBytes across two routes', async () => {
    const r = await setup(
      [
        { id: 'a', queue: 'maxPendingBytes: 1mb' },
        { id: 'b', queue: 'maxPendingBytes: 1mb' },
      ],
      ', maxPendingBytes: 32kb',
    );
    const bodies = Array.from({ length: 100 }, () => Buffer.alloc(1_000, 'b'));
    const ok = accepted(await burst(Number(new URL(r.url).port), ['/in/a', '/in/b'], bodies), bodies);
    expect(ok).toHaveLength(32);
  });

  it('a duplicate releases what it reserved: the limit counts stored deliveries only', async () => {
    const port = await refusedPort();
    relay = await startRelay(`
queue: { driver: sqlite, path: ${join(dir, `q${++files}`, 'queue.db')} }
admin: { enabled: false }
routes:
  - id: events
    path: /in/events
    delivery: async
    forward: { url: "http://127.0.0.1:${port}/hook" }
    dedup: { field: id }
    queue: { maxPending: 5, minDelay: 1h, maxDelay: 1h }
`);
    const relayPort = Number(new URL(relay.url).port);
    const same = Array.from({ length: 5 }, () => Buffer.from('{"id":"evt-1"}'));
    const first = await burst(relayPort, ['/in/events'], same, 'application/json');
    expect(first.map((a) => a.status)).toEqual([202, 202, 202, 202, 202]);
    expect(first.filter((a) => JSON.parse(a.body).duplicate === true)).toHaveLength(4);
    // One delivery is stored: four more distinct webhooks fit under maxPending: 5, a fifth does not.
    const distinct = Array.from({ length: 5 }, (_, i) => Buffer.from(`{"id":"evt-${i + 2}"}`));
    const second = await burst(relayPort, ['/in/events'], distinct, 'application/json');
    expect(second.filter((a) => a.status === 202)).toHaveLength(4);
    expect(second.filter((a) => a.status === 503)).toHaveLength(1);
  });
});
