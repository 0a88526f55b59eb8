import { afterAll, describe, expect, it } from 'vitest';
import { ParsePool } from '../../src/parsing/pool.ts';
import { transformRegistry, transformSchema } from '../../src/transforms/index.ts';
import { type CompiledStep, runTransforms } from '../../src/transforms/run.ts';
import { nextTurn } from '../../src/transforms/turns.ts';
import { inbound } from './support.ts';

/**
 * Large bodies take turns on the event loop (issue 11, item 4, for JSON): 120 large JSON bodies
 * completing at once were transformed back to back, holding /healthz for seconds. Each now waits
 * for a loop iteration of its own, so what arrived meanwhile is served between two of them.
 */

const pool = new ParsePool({
  workerThreshold: 16 * 1024,
  workers: 1,
  queue: 8,
  idleTimeout: 30_000,
  workerMemory: 64 * 2 ** 20,
});
afterAll(() => pool.close());

function mapSteps(withPool: boolean): CompiledStep[] {
  const config = transformSchema.parse({ type: 'map', fields: { id: 'order.id', count: 'order.count' } });
  const info = {
    routeId: 'r',
    index: 0,
    name: 'transform[0] (map)',
    runtime: withPool ? { pool, refuseWhenBusy: true } : undefined,
  };
  return [{ info, step: transformRegistry.create(config, info) }];
}

const large = Buffer.from(
  JSON.stringify({ order: { id: 'A-1', count: 20_000, lines: Array(20_000).fill({ n: 1 }) } }),
);
const small = Buffer.from('{"order":{"id":"B-2","count":1}}');

function transform(steps: CompiledStep[], body: Buffer, done: string[], name: string): Promise<void> {
  return runTransforms(steps, inbound({ body }), {
    kind: 'bytes',
    bytes: body,
    contentType: 'application/json',
  }).then((result) => {
    expect(JSON.parse(result.body.toString('utf8'))).toMatchObject({ id: expect.any(String) });
    done.push(name);
  });
}

describe('large bodies take turns on the event loop', () => {
  it('the loop turns between two large JSON bodies that arrived together', async () => {
    expect(large.length).toBeGreaterThan(16 * 1024);
    const done: string[] = [];
    const steps = mapSteps(true);
    const both = Promise.all([
      transform(steps, large, done, 'first'),
      transform(steps, large, done, 'second'),
    ]);
    setImmediate(() => done.push('other work'));
    await both;
    expect(done).toEqual(['first', 'other work', 'second']);
  });

  it('a small body does not wait for a turn', async () => {
    const done: string[] = [];
    const pending = transform(mapSteps(true), small, done, 'small');
    setImmediate(() => done.push('other work'));
    await pending;
    await new Promise((resolve) => setImmediate(resolve));
    expect(done).toEqual(['small', 'other work']);
  });

  it('turns are given one per loop iteration, in the order asked', async () => {
    const order: string[] = [];
    const turns = [1, 2, 3].map((n) => nextTurn().then(() => order.push(`turn ${n}`)));
    setImmediate(() => order.push('immediate'));
    await Promise.all(turns);
    expect(order).toEqual(['turn 1', 'immediate', 'turn 2', 'turn 3']);
  });
});
