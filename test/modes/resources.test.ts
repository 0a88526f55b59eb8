/**
 * Every mode, started, used once on real HTTP and stopped, leaves no socket or server handle
 * behind in this process: what it opened toward the target (pools, stream agents) and what the
 * seam opened for the caller are all closed. Counted with process.getActiveResourcesInfo().
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startTarget, type Target } from '../helpers.ts';
import { oneRoute, recordingQueue, startSeam, yaml } from './support.ts';

const sockets = () =>
  process.getActiveResourcesInfo().filter((kind) => kind === 'TCPSocketWrap' || kind === 'TCPServerWrap')
    .length;

let target: Target | undefined;
afterEach(async () => {
  await target?.close();
  target = undefined;
});

describe.each(['sync', 'async', 'hybrid', 'stream', 'echo'])('%s: start, one call, stop', (mode) => {
  it('leaves no socket open', async () => {
    target = await startTarget();
    // Sockets of earlier tests (fetch's keep-alive to a closed seam) are gone before the baseline.
    await expect.poll(() => sockets(), { timeout: 3_000 }).toBeLessThanOrEqual(1);
    const baseline = sockets();
    const source =
      mode === 'echo'
        ? yaml('routes:', '  - id: r', '    path: /in', '    echo: true')
        : oneRoute(mode, `${target.url}/hook`);
    const seam = await startSeam(source, { modes: [mode], queue: recordingQueue() });
    const res = await fetch(`${seam.url}/in`, { method: 'POST', body: 'x' });
    expect(res.status).toBeLessThan(300);
    await res.arrayBuffer();
    await seam.idle();
    expect(sockets()).toBeGreaterThan(baseline);
    await seam.close();
    // Bounded below every idle timeout (4 s pools and agents, 5 s servers): only closing passes it.
    await expect.poll(() => sockets(), { timeout: 3_000 }).toBe(baseline);
  });
});
