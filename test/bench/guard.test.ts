/**
 * The smoke run's CI guard (bench/guard.ts): which figure fails, which passes, and where the limit
 * sits while a target is not met. Figures are given, not measured: this tests the rule, not speed.
 */
import { describe, expect, it } from 'vitest';
import {
  CPU_VS_FLOOR_TARGET,
  GUARD_FACTOR,
  guardChecks,
  guardLimit,
  IDLE_RSS_TARGET_MB,
  RECORDED,
  REGRESSION_FACTOR,
} from '../../bench/guard.ts';
import type { StartupRow } from '../../bench/startup.ts';
import type { Summary } from '../../bench/summary.ts';

const row = (system: string, cpuUsPerReq: number) =>
  ({ scenario: 'json-bearer', system, cpuUsPerReq }) as Summary;
const idle = (idleRssMb: number) => [
  { system: 'hookrelay (config/hookrelay.yaml)', idleRssMb } as StartupRow,
];

describe('the CI guard', () => {
  it('sets the limit at twice the target, or 1.5 times a recorded figure that is above it', () => {
    expect(guardLimit(1.15, 1.0)).toBeCloseTo(1.15 * GUARD_FACTOR);
    expect(guardLimit(1.15, 1.99)).toBeCloseTo(1.99 * REGRESSION_FACTOR);
    expect(guardLimit(80, 96)).toBe(160);
  });

  it('passes the recorded figures, fails a gross regression, skips what was not measured', () => {
    const cpuLimit = guardLimit(CPU_VS_FLOOR_TARGET, RECORDED.cpuVsFloor);
    const ok = guardChecks(
      [row('node-forwarder', 100), row('hookrelay', 100 * RECORDED.cpuVsFloor)],
      idle(96),
    );
    expect(ok.map((c) => c.verdict)).toEqual(['pass', 'pass']);
    const bad = guardChecks(
      [row('node-forwarder', 100), row('hookrelay', 100 * cpuLimit + 1)],
      idle(IDLE_RSS_TARGET_MB * GUARD_FACTOR + 1),
    );
    expect(bad.map((c) => c.verdict)).toEqual(['fail', 'fail']);
    expect(guardChecks([], undefined).map((c) => c.verdict)).toEqual(['skipped', 'skipped']);
  });
});
