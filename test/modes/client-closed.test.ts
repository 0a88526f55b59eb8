/**
 * 499 HOOKRELAY_ERR_CLIENT_CLOSED on the modes that keep the caller waiting (sync, and hybrid
 * within its budget): the caller resets its connection while the relay waits on a slow real
 * target. The attempt in progress is abandoned, the request line says 499 with the code, and
 * /metrics counts it under hookrelay_errors_total.
 */
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { type Relay, sample, startRelay, startTarget, type Target } from '../helpers.ts';
import { rawConnect } from '../support/raw-http.ts';
import { yaml } from './support.ts';

let target: Target | undefined;
let relay: Relay | undefined;
const stalled: ServerResponse[] = [];
afterEach(async () => {
  for (const res of stalled.splice(0)) res.destroy();
  await relay?.close();
  await target?.close();
  relay = target = undefined;
});

/** One slow route: one attempt, and the caller allowed to wait 15 s (the deadline, or the budget). */
const config = (mode: string, url: string) =>
  yaml(
    'queue: { driver: memory }',
    'routes:',
    '  - id: slow',
    '    path: /in',
    `    forward: { url: "${url}/hook" }`,
    `    delivery: ${mode}`,
    '    retry: { attempts: 1 }',
    mode === 'hybrid'
      ? '    timeouts: { attempt: 15s }\n    hybrid: { budget: 15s }'
      : '    timeouts: { attempt: 15s, deadline: 15s }',
  );

describe.each(['sync', 'hybrid'])('a %s caller that resets while the target is slow', (mode) => {
  it('is logged as 499 CLIENT_CLOSED, counted in hookrelay_errors_total, and the attempt abandoned', async () => {
    let abandoned = false;
    target = await startTarget((_req, res) => {
      // Never answers: the relay waits on it until the caller goes away.
      res.on('close', () => {
        abandoned = true;
      });
      stalled.push(res);
    });
    relay = await startRelay(config(mode, target.url));
    const caller = rawConnect(Number(new URL(relay.url).port));
    await caller.write(
      'POST /in HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
    );
    await expect.poll(() => target!.received.length, { timeout: 10_000 }).toBe(1);
    caller.socket.resetAndDestroy();

    await expect
      .poll(() => relay!.logs.find((line) => line.msg === 'request'), { timeout: 10_000 })
      .toMatchObject({ route: 'slow', status: 499, code: 'HOOKRELAY_ERR_CLIENT_CLOSED' });
    await expect.poll(() => abandoned, { timeout: 10_000 }).toBe(true);
    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    expect(
      sample(metrics, 'hookrelay_errors_total', { route: 'slow', code: 'HOOKRELAY_ERR_CLIENT_CLOSED' }),
    ).toBe(1);
    expect(sample(metrics, 'hookrelay_requests_total', { route: 'slow', status: '499' })).toBe(1);
    expect(relay.logs.filter((line) => line.msg === 'request')).toHaveLength(1);
    // Nothing is queued for a caller who left (hybrid hands off only what failed or ran out of time).
    expect(
      sample(metrics, 'hookrelay_queue_enqueued_total', { route: 'slow', result: 'accepted' }) ?? 0,
    ).toBe(0);
    expect(target.received).toHaveLength(1);
  });
});
