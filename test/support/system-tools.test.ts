import { describe, expect, it } from 'vitest';
import { findTool, requireTool, underCi } from './system-tools.ts';

const MISSING = { name: 'hookrelay-no-such-tool-7f3a', env: 'HOOKRELAY_NO_SUCH_TOOL', install: 'never' };

describe('system tools needed by tests', () => {
  it('finds a program on PATH, and one named by its environment variable', () => {
    expect(findTool({ name: 'sh', install: '' })).toMatch(/\/sh$/);
    expect(findTool(MISSING, { ...process.env, HOOKRELAY_NO_SUCH_TOOL: 'sh' })).toMatch(/\/sh$/);
    expect(findTool(MISSING, { PATH: process.env.PATH })).toBeUndefined();
  });

  it('outside CI a missing tool skips, with a message saying what to install', () => {
    const warnings: string[] = [];
    const path = requireTool(MISSING, { PATH: process.env.PATH }, (m) => warnings.push(m));
    expect(path).toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('hookrelay-no-such-tool-7f3a not found');
    expect(warnings[0]).toContain('HOOKRELAY_NO_SUCH_TOOL');
  });

  it('under CI a missing tool is an error, never a skip', () => {
    for (const CI of ['true', '1']) {
      expect(underCi({ CI })).toBe(true);
      expect(() => requireTool(MISSING, { PATH: process.env.PATH, CI }, () => {})).toThrow(
        /CI=true requires it/,
      );
    }
    expect(underCi({})).toBe(false);
  });
});
