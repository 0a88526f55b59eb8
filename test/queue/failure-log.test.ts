import { describe, expect, it } from 'vitest';
import { FailureLog } from '../../src/queue/failure-log.ts';
import { createLogger } from '../../src/telemetry/log.ts';

describe('FailureLog', () => {
  function setup() {
    const logs: Record<string, unknown>[] = [];
    const sink = {
      write(line: string) {
        logs.push(JSON.parse(line) as Record<string, unknown>);
        return true;
      },
    } as unknown as NodeJS.WritableStream;
    const log = new FailureLog(
      createLogger('info', sink),
      { failing: 'failing', recovered: 'recovered' },
      { route: 'r' },
    );
    return { log, logs };
  }
  const full = Object.assign(new Error('database or disk is full'), {
    code: 'ERR_SQLITE_ERROR',
    errcode: 13,
    errstr: 'database or disk is full',
  });
  const io = Object.assign(new Error('disk I/O error'), {
    code: 'ERR_SQLITE_ERROR',
    errcode: 10,
    errstr: 'disk I/O error',
  });

  it('logs the start, a change of reason and the end, with counts; nothing while nothing changes', () => {
    const { log, logs } = setup();
    log.succeeded();
    expect(logs).toEqual([]);
    for (let i = 0; i < 1000; i++) log.failed(full, { requestId: `q${i}` });
    expect(log.failing).toBe(true);
    log.failed(io);
    log.failed(io);
    log.succeeded();
    log.succeeded();
    expect(logs.map((l) => l.msg)).toEqual(['failing', 'failing', 'recovered']);
    expect(logs[0]).toMatchObject({
      level: 'error',
      route: 'r',
      requestId: 'q0',
      reason: 'database or disk is full',
      code: 'ERR_SQLITE_ERROR:13',
    });
    expect(logs[1]).toMatchObject({
      reason: 'disk I/O error',
      failedBefore: 1000,
      reasonBefore: 'database or disk is full',
    });
    expect(logs[2]).toMatchObject({ level: 'info', route: 'r', failed: 1002, reason: 'disk I/O error' });
    expect(log.failing).toBe(false);
  });
});
