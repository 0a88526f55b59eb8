/**
 * Event-loop time per document (the xml-flood scenario's first table): the transform steps run
 * in this process on the 0.94 MB SOAP body with 120,000 elements, on a legacy ERP batch
 * of the same size (4,000 lines with attributes), and on a JSON body of the same size through a
 * `map` step; each inline on the event loop and, for XML, through the parsing worker threads.
 * The figure is the event loop's *active* time while one document is transformed (idle time
 * spent waiting for a worker does not count), the median of RUNS. Prints one JSON line.
 *
 * The unfixed code (no limits, no worker threads) runs it too: settings it does not know are left
 * out, and the pool rows are skipped when src/parsing/pool.ts does not exist.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { InboundMessage } from '../src/core/message.ts';
import { transformRegistry, transformSchema } from '../src/transforms/index.ts';
import { type CompiledStep, runTransforms } from '../src/transforms/run.ts';
import type { TransformRuntime } from '../src/transforms/types.ts';
import { erpBatchXml, floodJson, floodXml } from './xml-bodies.ts';

const RUNS = Number(process.env.RUNS ?? 5);
const POOL = fileURLToPath(new URL('../src/parsing/pool.ts', import.meta.url));

const RAISED = { maxElements: 200_000, maxTextNodes: 200_000 };
const knows = (options: Record<string, unknown>) =>
  transformSchema.safeParse({ type: 'xml', soap: true, ...options }).success;

function steps(configs: Record<string, unknown>[], runtime?: TransformRuntime): CompiledStep[] {
  return configs.map((raw, index) => {
    const config = transformSchema.parse(raw);
    const info = {
      routeId: 'bench',
      index,
      name: `transform[${index}] (${config.type})`,
      runtime: runtime && { ...runtime, refuseWhenBusy: true },
    };
    return { info, step: transformRegistry.create(config, info) };
  });
}

function message(body: Buffer): InboundMessage {
  return {
    requestId: 'bench',
    routeId: 'bench',
    method: 'POST',
    path: '/bench',
    params: {},
    query: new URLSearchParams(),
    rawQuery: '',
    headers: {},
    body,
    clientIp: '127.0.0.1',
    receivedAt: 0,
  };
}

/** Median active event-loop ms of one transform run, and how it ended (2xx-like `ok` or the status). */
async function measure(
  list: CompiledStep[],
  body: Buffer,
  contentType: string,
): Promise<{ ms: number; outcome: string }> {
  const samples: number[] = [];
  let outcome = 'ok';
  for (let i = 0; i < RUNS + 1; i++) {
    const before = performance.eventLoopUtilization();
    try {
      await runTransforms(list, message(body), { kind: 'bytes', bytes: body, contentType });
    } catch (error) {
      outcome = String((error as { error?: { status?: number } }).error?.status ?? 'error');
    }
    // The loop accounts its busy time when it turns: let it turn once before reading.
    await new Promise((resolve) => setImmediate(resolve));
    // The first run warms the JIT (and starts the worker thread): not counted.
    if (i > 0) samples.push(performance.eventLoopUtilization(before).active);
  }
  samples.sort((a, b) => a - b);
  return { ms: samples[Math.floor(samples.length / 2)]!, outcome };
}

const xml = 'text/xml; charset=utf-8';
const mapXml = { type: 'map', fields: { id: 'OrderCreated.OrderId', count: 'OrderCreated.Count' } };
const mapJson = { type: 'map', fields: { id: 'OrderCreated.OrderId', count: 'OrderCreated.Count' } };
const flood = floodXml();
const erp = erpBatchXml(4_000);
const json = floodJson();
const raised = knows(RAISED) ? RAISED : {};

const rows: { document: string; bytes: number; where: string; ms: number; outcome: string }[] = [];
const row = async (document: string, body: Buffer, where: string, list: CompiledStep[], type = xml) => {
  rows.push({ document, bytes: body.length, where, ...(await measure(list, body, type)) });
};

await row(
  'soap-120k-elements',
  flood,
  'inline, default limits',
  steps([{ type: 'xml', soap: true }, mapXml]),
);
await row(
  'soap-120k-elements',
  flood,
  'inline, limits raised',
  steps([{ type: 'xml', soap: true, ...raised }, mapXml]),
);
await row('erp-4000-lines', erp, 'inline', steps([{ type: 'xml', soap: true }, mapXml]));
await row('json-120k-objects', json, 'inline (map)', steps([mapJson]), 'application/json');
if (existsSync(POOL)) {
  const { ParsePool } = await import(POOL);
  const pool = new ParsePool({
    workerThreshold: 16 * 1024,
    workers: 1,
    queue: 64,
    idleTimeout: 60_000,
    workerMemory: 256 * 2 ** 20,
  });
  const runtime = { pool };
  await row(
    'soap-120k-elements',
    flood,
    'worker, default limits',
    steps([{ type: 'xml', soap: true }, mapXml], runtime),
  );
  await row(
    'soap-120k-elements',
    flood,
    'worker, limits raised',
    steps([{ type: 'xml', soap: true, ...raised }, mapXml], runtime),
  );
  await row('erp-4000-lines', erp, 'worker', steps([{ type: 'xml', soap: true }, mapXml], runtime));
  await pool.close();
}
process.stdout.write(`${JSON.stringify({ runs: RUNS, rows })}\n`);
