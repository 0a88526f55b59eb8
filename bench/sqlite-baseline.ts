/**
 * The durability baseline: one fsync'd SQLite transaction per request (WAL, synchronous=FULL,
 * a 1 KB row each), for SECONDS. Durable acks through hookrelay's group commit should beat this
 * by far. Prints one JSON line: { tps, transactions }.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

const seconds = Number(process.env.SECONDS ?? 3);
const dir = mkdtempSync(join(tmpdir(), 'hookrelay-sqlite-baseline-'));
const db = new DatabaseSync(join(dir, 'baseline.db'));
db.exec(
  'PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)',
);
const insert = db.prepare('INSERT INTO t (body) VALUES (?)');
const body = Buffer.alloc(1024, 120);
const until = performance.now() + seconds * 1000;
let transactions = 0;
while (performance.now() < until) {
  db.exec('BEGIN IMMEDIATE');
  insert.run(body);
  db.exec('COMMIT');
  transactions++;
}
const elapsed = seconds;
db.close();
rmSync(dir, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify({ tps: transactions / elapsed, transactions })}\n`);
