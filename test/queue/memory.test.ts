import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createDriver } from '../../src/queue/index.ts';
import { MemoryDriver } from '../../src/queue/memory.ts';
import { createLogger } from '../../src/telemetry/log.ts';
import { driverContract } from './contract.ts';

driverContract('memory', (options) => new MemoryDriver(options));

describe('memory driver factory', () => {
  it('warns loudly that nothing survives a restart', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).trim().split('\n'));
        done();
      },
    });
    const driver = createDriver(
      {
        driver: 'memory',
        path: 'unused',
        retention: { delivered: 1, dead: 1 },
        maxPending: 1,
        maxPendingBytes: 1,
        keepAttempts: 1,
      },
      createLogger('info', sink),
    );
    expect(driver.kind).toBe('memory');
    await driver.close();
    const logged = lines.map((line) => JSON.parse(line) as { level: string; msg: string });
    expect(logged).toHaveLength(1);
    expect(logged[0]!.level).toBe('warn');
    expect(logged[0]!.msg).toMatch(/NOTHING SURVIVES A RESTART/);
  });
});
