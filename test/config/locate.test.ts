import { describe, expect, it } from 'vitest';
import type { ConfigPath } from '../../src/config/interpolate.ts';
import { createLocator } from '../../src/config/locate.ts';

type Case = [ConfigPath, number, number];

const cases = (source: string, table: Case[]) => {
  const locate = createLocator(source);
  it.each(table)('%j → %i:%i', (path, line, column) => {
    expect(locate(path)).toEqual({ line, column });
  });
};

describe('block style with comments and blank lines', () => {
  cases(
    [
      '# hookrelay config', // 1
      '', // 2
      'server:', // 3
      '  port: 8080   # listen port', // 4
      '', // 5
      '  limits:', // 6
      '    body: 1mb', // 7
      'routes:', // 8
      '  - id: a', // 9
      '    forward:', // 10
      '      url: x', // 11
      '  # second route', // 12
      '  - id: b', // 13
      '', // 14
      '    forward:', // 15
      '      url: https://example.com', // 16
      '      headers:', // 17
      '        - one', // 18
      '        -   two', // 19
      '',
    ].join('\n'),
    [
      [[], 1, 1],
      [['server'], 3, 1],
      [['server', 'port'], 4, 3],
      [['server', 'limits', 'body'], 7, 5],
      [['routes'], 8, 1],
      [['routes', 0], 9, 5],
      [['routes', 0, 'id'], 9, 5],
      [['routes', 0, 'forward', 'url'], 11, 7],
      [['routes', 1], 13, 5],
      [['routes', 1, 'forward'], 15, 5],
      [['routes', 1, 'forward', 'url'], 16, 7],
      [['routes', 1, 'forward', 'headers', 0], 18, 11],
      [['routes', 1, 'forward', 'headers', 1], 19, 13],
    ],
  );
});

describe('missing paths fall back to the nearest ancestor', () => {
  cases('routes:\n  - id: a\n    forward:\n      method: POST\n', [
    [['routes', 0, 'forward', 'url'], 3, 5],
    [['routes', 0, 'forward', 'url', 'host'], 3, 5],
    [['routes', 0, 'retry'], 2, 5],
    [['routes', 5, 'id'], 1, 1],
    [['server', 'port'], 1, 1],
    [['routes', 0, 'id', 'deeper'], 2, 5],
  ]);
});

describe('flow style', () => {
  cases('server: {port: 8080, host: "0.0.0.0"}\nroutes: [{id: a, tags: [x, y]}, {id: b}]\n', [
    [['server'], 1, 1],
    [['server', 'port'], 1, 10],
    [['server', 'host'], 1, 22],
    [['routes'], 2, 1],
    [['routes', 0], 2, 10],
    [['routes', 0, 'id'], 2, 11],
    [['routes', 0, 'tags', 1], 2, 28],
    [['routes', 1], 2, 33],
    [['routes', 1, 'id'], 2, 34],
  ]);
});

describe('quoted keys, anchors, aliases and tags', () => {
  cases(
    [
      '"quoted key": 1', // 1
      "'single.dot': 2", // 2
      'headers:', // 3
      '  "X-Api-Key": k', // 4
      'defaults: &defaults', // 5
      '  timeout: 10s', // 6
      'routes:', // 7
      '  - forward: *defaults', // 8
      '  - &r !!map', // 9
      '    id: tagged', // 10
      '  - "quoted item"', // 11
      '? complex', // 12
      ': value', // 13
      '',
    ].join('\n'),
    [
      [['quoted key'], 1, 1],
      [['single.dot'], 2, 1],
      [['headers', 'X-Api-Key'], 4, 3],
      [['defaults', 'timeout'], 6, 3],
      [['routes', 0, 'forward'], 8, 5],
      [['routes', 0, 'forward', 'timeout'], 8, 5],
      [['routes', 1], 9, 5],
      [['routes', 1, 'id'], 10, 5],
      [['routes', 2], 11, 5],
      [['complex'], 12, 3],
    ],
  );
});

describe('root-level sequence, CRLF and BOM', () => {
  cases('\ufeff- a\r\n- b: 1\r\n  c: 2\r\n', [
    [[], 1, 1],
    [[0], 1, 3],
    [[1, 'b'], 2, 3],
    [[1, 'c'], 3, 3],
  ]);
});

describe('only the first document is indexed', () => {
  cases('a: 1\n---\nb: 2\n', [
    [['a'], 1, 1],
    [['b'], 1, 1],
  ]);
});

describe('edge cases', () => {
  it('skips keys that are collections', () => {
    const locate = createLocator('? [a, b]\n: {x: 1}\nafter: 2\n');
    expect(locate(['after'])).toEqual({ line: 3, column: 1 });
    expect(locate(['x'])).toEqual({ line: 1, column: 1 });
  });

  it('handles empty and comment-only documents', () => {
    expect(createLocator('')(['a'])).toEqual({ line: 1, column: 1 });
    expect(createLocator('# nothing\n')(['a', 0])).toEqual({ line: 1, column: 1 });
  });

  it('returns undefined for every path when the YAML does not parse', () => {
    const locate = createLocator('a: [1\nb: c: d\n');
    expect(locate([])).toBeUndefined();
    expect(locate(['a'])).toBeUndefined();
  });

  it('points an empty value at its key', () => {
    const locate = createLocator('a:\nb:\n  c:\n');
    expect(locate(['a'])).toEqual({ line: 1, column: 1 });
    expect(locate(['b', 'c'])).toEqual({ line: 3, column: 3 });
    expect(locate(['b', 'c', 'd'])).toEqual({ line: 3, column: 3 });
  });
});
