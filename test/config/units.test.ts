import { describe, expect, it } from 'vitest';
import { formatDuration, formatSize, parseDuration, parseSize } from '../../src/core/units.ts';

describe('parseDuration', () => {
  it.each([
    [0, 0],
    [250, 250],
    [1.6, 2],
    ['250', 250],
    ['500ms', 500],
    ['10s', 10_000],
    ['1.5s', 1500],
    ['.5s', 500],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1.5h', 5_400_000],
    ['  10S  ', 10_000],
    ['500MS', 500],
    ['10 s', 10_000],
    ['1.0004s', 1000],
  ] as const)('%j → %d ms', (input, expected) => {
    expect(parseDuration(input)).toBe(expected);
  });

  it.each([
    '10 parsecs',
    '',
    '   ',
    's',
    '-5s',
    '1e3',
    '10sec',
    '1h30m',
    '1.2.3s',
    '99999999999999999999h',
    -1,
    Number.NaN,
    Number.POSITIVE_INFINITY,
  ])('rejects %j', (input) => {
    expect(() => parseDuration(input)).toThrow(
      new Error(
        `invalid duration '${input}', expected a number of milliseconds or e.g. 500ms, 10s, 5m, 1h, 7d`,
      ),
    );
  });
});

describe('parseSize', () => {
  it.each([
    [0, 0],
    [1024, 1024],
    ['1024', 1024],
    ['512b', 512],
    ['64kb', 65_536],
    ['64k', 65_536],
    ['64KiB', 65_536],
    ['1mb', 1_048_576],
    ['1m', 1_048_576],
    ['1mib', 1_048_576],
    ['1.5mb', 1_572_864],
    ['1gb', 1_073_741_824],
    ['1g', 1_073_741_824],
    ['2GiB', 2_147_483_648],
    [' 10 KB ', 10_240],
    ['0.001kb', 1],
    ['0.0001kb', 0],
  ] as const)('%j → %d bytes', (input, expected) => {
    expect(parseSize(input)).toBe(expected);
  });

  it.each([
    'x',
    '',
    '1tb',
    '-1kb',
    '1.5',
    '1.5b',
    'kb',
    '1e3',
    1.5,
    -1,
    Number.NaN,
    Number.POSITIVE_INFINITY,
  ])('rejects %j', (input) => {
    expect(() => parseSize(input)).toThrow(
      new Error(`invalid size '${input}', expected a number of bytes or e.g. 512b, 64kb, 1mb`),
    );
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [1, '1ms'],
    [1500, '1500ms'],
    [1000, '1s'],
    [30_000, '30s'],
    [90_000, '90s'],
    [300_000, '5m'],
    [5_400_000, '90m'],
    [3_600_000, '1h'],
    [86_400_000, '1d'],
  ])('%d → %s', (ms, expected) => {
    expect(formatDuration(ms)).toBe(expected);
    expect(parseDuration(formatDuration(ms))).toBe(ms);
  });

  it.each([-1, 1.5, Number.NaN])('rejects %d', (ms) => {
    expect(() => formatDuration(ms)).toThrow(RangeError);
  });
});

describe('formatSize', () => {
  it.each([
    [0, '0b'],
    [1000, '1000b'],
    [1024, '1kb'],
    [1536, '1536b'],
    [65_536, '64kb'],
    [1_048_576, '1mb'],
    [1_572_864, '1536kb'],
    [1_073_741_824, '1gb'],
    [5 * 1024 ** 3, '5gb'],
  ])('%d → %s', (bytes, expected) => {
    expect(formatSize(bytes)).toBe(expected);
    expect(parseSize(formatSize(bytes))).toBe(bytes);
  });

  it.each([-1, 0.5, Number.POSITIVE_INFINITY])('rejects %d', (bytes) => {
    expect(() => formatSize(bytes)).toThrow(RangeError);
  });
});
