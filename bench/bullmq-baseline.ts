/**
 * The redis driver's floor: BullMQ's own `queue.add` of the same payload (order.json, base64 as
 * the driver stores it) from a bare Node process, `CONNECTIONS` adds in flight, for SECONDS,
 * against the bench's redis-server (REDIS_URL). What the relay adds on top (HTTP, parsing,
 * credentials, admission, its record) is its async-redis rows measured against this one.
 * Prints one JSON line: { aps, adds, cpuUsPerAdd }.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

const seconds = Number(process.env.SECONDS ?? 3);
const inFlight = Number(process.env.CONNECTIONS ?? 32);
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const body = readFileSync(join(import.meta.dirname, 'fixtures/order.json')).toString('base64');
const connection = new Redis(url, { maxRetriesPerRequest: 1 });
const queue = new Queue('bench-floor', { connection, prefix: 'hookrelay-floor' });
await queue.waitUntilReady();
let adds = 0;
let sequence = 0;
const cpu = process.cpuUsage();
const until = performance.now() + seconds * 1000;
await Promise.all(
  Array.from({ length: inFlight }, async () => {
    while (performance.now() < until) {
      const id = `${Date.now().toString(16)}-${(sequence++).toString(16)}`;
      await queue.add(
        'delivery',
        { id, request: { method: 'POST', headers: { 'content-type': 'application/json' }, body } },
        { jobId: id, removeOnComplete: false, removeOnFail: false },
      );
      adds++;
    }
  }),
);
const used = process.cpuUsage(cpu);
await queue.obliterate({ force: true });
await queue.close();
await connection.quit();
process.stdout.write(
  `${JSON.stringify({ aps: adds / seconds, adds, cpuUsPerAdd: (used.user + used.system) / Math.max(1, adds) })}\n`,
);
