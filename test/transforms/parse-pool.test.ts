import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { HookrelayError } from '../../src/core/errors.ts';
import { type ParseJob, ParsePool, type ParsePoolOptions } from '../../src/parsing/pool.ts';
import { transformRegistry, transformSchema } from '../../src/transforms/index.ts';
import type { TransformContext, TransformStep } from '../../src/transforms/types.ts';
import type { XmlConfig } from '../../src/transforms/xml.ts';
import { type Relay, sample, startRelay, startTarget, type Target } from '../helpers.ts';

/**
 * The parsing worker threads (issue 11, item 4): large XML bodies are parsed off the event loop,
 * with the same result as inline, by a bounded pool of lazily started threads that end when idle,
 * refuse with 503 when saturated, survive a thread that dies, and stop with the app.
 */

const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';
const pools: ParsePool[] = [];

function pool(options: Partial<ParsePoolOptions> = {}): ParsePool {
  const p = new ParsePool({
    workerThreshold: 1,
    workers: 1,
    queue: 8,
    idleTimeout: 30_000,
    workerMemory: 256 * 2 ** 20,
    ...options,
  });
  pools.push(p);
  return p;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

function xmlConfig(options: Record<string, unknown> = {}): XmlConfig {
  return transformSchema.parse({ type: 'xml', ...options }) as XmlConfig;
}

function step(options: Record<string, unknown>, runtime?: ParsePool, refuseWhenBusy = true): TransformStep {
  return transformRegistry.create(xmlConfig(options), {
    routeId: 'r',
    index: 0,
    name: 'transform[0] (xml)',
    runtime: runtime && { pool: runtime, refuseWhenBusy },
  });
}

/** Runs a step; the value, or the HookrelayError it refused the body with. */
async function run(s: TransformStep, body: string | Buffer): Promise<unknown> {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const ctx = {
    routeId: 'r',
    payload: { kind: 'bytes', bytes, contentType: 'text/xml' },
    setHeaders: {},
    removeHeaders: new Set(),
  } as unknown as TransformContext;
  try {
    await s.run(ctx);
  } catch (error) {
    if (error instanceof HookrelayError) return error;
    throw error;
  }
  return (ctx.payload as { value: unknown }).value;
}

function job(body: string | Buffer, options: Record<string, unknown> = {}): ParseJob {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  return {
    kind: 'xml',
    config: xmlConfig(options),
    step: 'transform[0] (xml)',
    bytes,
    contentType: 'text/xml',
  };
}

/** The body: a 0.94 MB SOAP message with 120,000 elements. */
const FLOOD = `<s:Envelope xmlns:s="${SOAP11}"><s:Body><OrderCreated>${'<L>1</L>'.repeat(119_997)}</OrderCreated></s:Body></s:Envelope>`;
const RAISED = { soap: true, maxElements: 200_000, maxTextNodes: 200_000 };

/** Waits (at most 10 s) until the condition holds; the wait is bounded, the assertion is not on time. */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(condition()).toBe(true);
}

describe('parsing workers: a large body is parsed off the event loop', () => {
  it('the event loop turns while the 120,000-element body is parsed, and the value is the inline one', async () => {
    const pooled = step(RAISED, pool());
    const order: string[] = [];
    const parsed = run(pooled, FLOOD).then((value) => {
      order.push('parsed');
      return value;
    });
    await new Promise((resolve) => setImmediate(resolve));
    order.push('event loop turned');
    const value = await parsed;
    expect(order).toEqual(['event loop turned', 'parsed']);
    expect(value).toEqual(await run(step(RAISED), FLOOD));
  });

  it('parseValues keeps the digits of long numbers through a worker, as inline', async () => {
    const body = `<Order><Id>5738291046618274931</Id><Total>10.50</Total><N>7</N>${'<Pad>x</Pad>'.repeat(3)}</Order>`;
    const inline = await run(step({ parseValues: true }), body);
    const pooled = await run(step({ parseValues: true }, pool()), body);
    expect(JSON.stringify(pooled)).toBe(JSON.stringify(inline));
    expect(JSON.stringify(pooled)).toContain('"Id":5738291046618274931,"Total":10.50,"N":7');
  });

  it.each([
    ['malformed', '<a>\n  <b>\n</a>', {}],
    ['a DOCTYPE', '<!DOCTYPE a>\n<a/>', {}],
    ['an internal subset', '<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>', { allowDoctype: true }],
    ['too many elements', `<r>${'<a/>'.repeat(11)}</r>`, { maxElements: 10 }],
    ['too deep', '<a><b><c/></b></a>', { maxDepth: 2 }],
    ['not SOAP', '<a/>', { soap: true }],
    ['an undefined entity', '<a>&nbsp;</a>', {}],
  ])('refuses %s in a worker exactly as inline', async (_name, body, options) => {
    const inline = await run(step(options), body);
    const pooled = await run(step(options, pool()), body);
    expect(inline).toBeInstanceOf(HookrelayError);
    expect(pooled).toBeInstanceOf(HookrelayError);
    const { code, status, message, params } = pooled as HookrelayError;
    expect({ code, status, message, params }).toEqual({
      code: (inline as HookrelayError).code,
      status: (inline as HookrelayError).status,
      message: (inline as HookrelayError).message,
      params: (inline as HookrelayError).params,
    });
  });

  it('starts no thread until a body reaches the threshold; smaller ones stay inline', async () => {
    const p = pool({ workerThreshold: 1024 });
    const s = step({}, p);
    expect(await run(s, '<a>small</a>')).toEqual({ a: 'small' });
    expect(p.workers).toBe(0);
    const large = `<a>${'<b>x</b>'.repeat(200)}</a>`;
    expect(await run(s, large)).toEqual({ a: { b: Array(200).fill('x') } });
    expect(p.workers).toBe(1);
  });

  it('ends a thread that stayed idle for idleTimeout, and starts one again when needed', async () => {
    const p = pool({ idleTimeout: 50 });
    expect(await p.run(job('<a>1</a>'), { routeId: 'r', refuseWhenBusy: true })).toEqual({ a: '1' });
    await until(() => p.workers === 0);
    expect(await p.run(job('<a>2</a>'), { routeId: 'r', refuseWhenBusy: true })).toEqual({ a: '2' });
  });

  it.runIf(existsSync('/proc/thread-self'))(
    'a parsing thread runs at a lower priority (nice 10) than the event loop, on Linux',
    async () => {
      const nice = (tid: string) => {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
      };
      const p = pool();
      await p.run(job('<a/>'), { routeId: 'r', refuseWhenBusy: true });
      expect(readdirSync('/proc/self/task').map(nice)).toContain(10);
      expect(nice(String(process.pid))).toBe(0);
    },
  );

  it('runs up to `workers` threads at once', async () => {
    const p = pool({ workers: 2 });
    const jobs = Array.from({ length: 4 }, (_, i) =>
      p.run(job(`<a>${i}</a>`), { routeId: 'r', refuseWhenBusy: true }),
    );
    expect(p.workers).toBe(2);
    expect(await Promise.all(jobs)).toEqual([0, 1, 2, 3].map((i) => ({ a: String(i) })));
  });
});

describe('parsing workers: saturation, failures and shutdown', () => {
  it('refuses a request body at once with 503 when every thread is busy and the queue is full', async () => {
    const p = pool({ workers: 1, queue: 1 });
    const first = p.run(job(FLOOD, RAISED), { routeId: 'r', refuseWhenBusy: true });
    const second = p.run(job('<a>2</a>'), { routeId: 'r', refuseWhenBusy: true });
    const third = p.run(job('<a>3</a>'), { routeId: 'r', refuseWhenBusy: true });
    const error = await third.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HookrelayError);
    expect(error).toMatchObject({ status: 503, code: 'HOOKRELAY_ERR_TRANSFORM_BUSY', retryable: true });
    expect((error as Error).message).toBe(
      'transform[0] (xml): every parsing worker is busy and the parsing queue is full (parsing.queue: 1); retry after 1 s',
    );
    // A response step is never refused: the target already has the request.
    const response = p.run(job('<a>4</a>'), { routeId: 'r', refuseWhenBusy: false });
    expect(p.queued).toBe(2);
    await expect(first).resolves.toMatchObject({ OrderCreated: {} });
    await expect(second).resolves.toEqual({ a: '2' });
    await expect(response).resolves.toEqual({ a: '4' });
  });

  it('serves a response step before the request bodies that were waiting', async () => {
    const p = pool({ workers: 1, queue: 8 });
    const done: string[] = [];
    const track = (name: string, promise: Promise<unknown>) => promise.then(() => done.push(name));
    const running = track('running', p.run(job(FLOOD, RAISED), { routeId: 'r', refuseWhenBusy: true }));
    const request = track('request', p.run(job('<a/>'), { routeId: 'r', refuseWhenBusy: true }));
    const response = track('response', p.run(job('<a/>'), { routeId: 'r', refuseWhenBusy: false }));
    await Promise.all([running, request, response]);
    expect(done).toEqual(['running', 'response', 'request']);
  });

  it('a thread that runs out of memory fails only its body (413) and is replaced for the others', async () => {
    const p = pool({ workers: 1, queue: 8, workerMemory: 32 * 2 ** 20 });
    const huge = `<r>${Array.from({ length: 200_000 }, (_, i) => `<e${i % 5000} a="${i}">t${i}</e${i % 5000}>`).join('')}</r>`;
    const unlimited = { maxElements: 1_000_000, maxAttributes: 1_000_000, maxTextNodes: 1_000_000 };
    const results = await Promise.allSettled([
      p.run(job('<a>before</a>'), { routeId: 'r', refuseWhenBusy: true }),
      p.run(job(huge, unlimited), { routeId: 'r', refuseWhenBusy: true }),
      p.run(job('<a>after</a>'), { routeId: 'r', refuseWhenBusy: true }),
    ]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: { a: 'before' } });
    expect(results[2]).toEqual({ status: 'fulfilled', value: { a: 'after' } });
    const failure = (results[1] as PromiseRejectedResult).reason as HookrelayError;
    expect(failure).toMatchObject({ status: 413, code: 'HOOKRELAY_ERR_BODY_TOO_COMPLEX' });
    expect(failure.message).toBe(
      'transform[0] (xml): the XML body is too complex: parsing it needed more than the 32 MB a parsing worker has (parsing.workerMemory)',
    );
    expect(failure.params.limit).toBe('parsing.workerMemory');
  });

  it('on close refuses what waits, what runs and what comes later with 503, and ends every thread', async () => {
    const p = pool({ workers: 1 });
    const outcome = (promise: Promise<unknown>) =>
      promise.then(
        () => 'parsed',
        (error: HookrelayError) => `${error.status} ${error.code}`,
      );
    const running = outcome(p.run(job(FLOOD, RAISED), { routeId: 'r', refuseWhenBusy: true }));
    const waiting = outcome(p.run(job('<a/>'), { routeId: 'r', refuseWhenBusy: true }));
    await p.close();
    const later = outcome(p.run(job('<a/>'), { routeId: 'r', refuseWhenBusy: true }));
    expect(await Promise.all([running, waiting, later])).toEqual(
      Array(3).fill('503 HOOKRELAY_ERR_SHUTTING_DOWN'),
    );
    expect(p.workers).toBe(0);
  });

  it('workers: 0 parses everything inline', async () => {
    const p = pool({ workers: 0 });
    expect(p.offloads(10_000_000)).toBe(false);
    expect(await run(step({}, p), '<a>1</a>')).toEqual({ a: '1' });
    expect(p.workers).toBe(0);
  });
});

describe('parsing workers: through the relay', () => {
  let target: Target;
  let relay: Relay;
  afterEach(async () => {
    await relay?.close();
    await target?.close();
  });

  const batch = (lines: number) =>
    `<soapenv:Envelope xmlns:soapenv="${SOAP11}"><soapenv:Body><OrderBatch>${Array.from(
      { length: lines },
      (_, i) => `<Line no="${i + 1}"><Sku>W-${i}</Sku><Qty>2</Qty></Line>`,
    ).join('')}</OrderBatch></soapenv:Body></soapenv:Envelope>`;

  it('forwards a large SOAP body parsed by a worker, counts it, and the app stop ends the threads', async () => {
    target = await startTarget();
    relay = await startRelay(`
parsing: { workerThreshold: 16kb, workers: 1 }
routes:
  - id: erp
    path: /in/erp
    forward:
      url: ${target.url}/hook
    transform:
      - type: xml
        soap: true
        alwaysArray: [OrderBatch.Line]
      - type: map
        jsonata: '{ "lines": $count(OrderBatch.Line), "last": OrderBatch.Line[-1].Sku }'
`);
    const body = batch(1_000);
    expect(body.length).toBeGreaterThan(16 * 1024);
    const res = await fetch(`${relay.url}/in/erp`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8' },
      body,
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(target.received[0]!.body.toString('utf8'))).toEqual({ lines: 1_000, last: 'W-999' });
    // A small body stays inline.
    await fetch(`${relay.url}/in/erp`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: batch(2),
    });
    expect(target.received).toHaveLength(2);
    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    expect(sample(metrics, 'hookrelay_parse_pool_jobs_total', { route: 'erp', outcome: 'parsed' })).toBe(1);
    expect(sample(metrics, 'hookrelay_parse_pool_workers')).toBe(1);
    expect(sample(metrics, 'hookrelay_parse_pool_wait_seconds_count')).toBe(1);
    await relay.close();
    const after = await relay.app.metrics.registry.getSingleMetricAsString('hookrelay_parse_pool_workers');
    expect(sample(after, 'hookrelay_parse_pool_workers')).toBe(0);
  });

  it('a request refused because every parsing thread is busy says when to retry (Retry-After)', async () => {
    target = await startTarget();
    relay = await startRelay(`
parsing: { workerThreshold: 16kb, workers: 1, queue: 0 }
routes:
  - id: flood
    path: /in/flood
    forward:
      url: ${target.url}/hook
    transform:
      - { type: xml, soap: true, maxElements: 200000, maxTextNodes: 200000 }
`);
    // The first body keeps the only thread busy for a few hundred milliseconds; the second arrives
    // meanwhile and finds no thread and no queue place.
    const post = () =>
      fetch(`${relay!.url}/in/flood`, {
        method: 'POST',
        headers: { 'content-type': 'text/xml' },
        body: FLOOD,
      });
    const answers = await Promise.all([post(), post()]);
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 503]);
    const refused = answers.find((r) => r.status === 503)!;
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { error: string }).error).toBe('HOOKRELAY_ERR_TRANSFORM_BUSY');
  });

  it('parses a large XML answer of the target in a worker for response.transform', async () => {
    const answer = batch(1_000);
    target = await startTarget((_req, res) => {
      res.setHeader('content-type', 'text/xml');
      res.end(answer);
    });
    relay = await startRelay(`
parsing: { workerThreshold: 16kb, workers: 1, queue: 0 }
routes:
  - id: lookup
    path: /in/lookup
    forward:
      url: ${target.url}/hook
    response:
      transform:
        - type: xml
          soap: true
        - type: map
          jsonata: '{ "lines": $count(OrderBatch.Line) }'
`);
    const res = await fetch(`${relay.url}/in/lookup`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ lines: 1_000 });
    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    expect(sample(metrics, 'hookrelay_parse_pool_jobs_total', { route: 'lookup', outcome: 'parsed' })).toBe(
      1,
    );
  });

  it('validates the parsing settings', async () => {
    await expect(
      startRelay(`
parsing: { workerMemory: 1mb, queue: -1 }
routes:
  - id: r
    path: /in
    forward: { url: "http://127.0.0.1:9/" }
`),
    ).rejects.toThrow(
      /parsing\.workerMemory[\s\S]*parsing\.queue|parsing\.queue[\s\S]*parsing\.workerMemory/,
    );
  });
});
