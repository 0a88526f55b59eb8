import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { restartRequired, routeChanges } from '../../src/runtime/settings.ts';

const routes = (extra = '') => `
routes:
  - id: a
    path: /a
    forward: { url: http://127.0.0.1:9/a }
  - id: b
    path: /b
    forward: { url: http://127.0.0.1:9/b${extra} }
`;

describe('what a reload can apply', () => {
  it('lists every fixed setting that changed, and none that can change live', () => {
    const before = parseConfig(`server: { port: 8080 }\n${routes()}`, 'c.yaml');
    const after = parseConfig(
      `server: { port: 8081, watchConfig: true, requestTimeout: 30s }\nqueue: { driver: memory }\nadmin: { port: 9999 }\nlog: { level: debug }\n${routes()}`,
      'c.yaml',
    );
    expect(restartRequired(before, after)).toEqual([
      'admin.port',
      'queue.driver',
      'server.port',
      'server.requestTimeout',
    ]);
    expect(restartRequired(before, before)).toEqual([]);
  });

  it('names the routes added, removed and changed; key order is no change', () => {
    const before = parseConfig(routes(), 'c.yaml');
    const reordered = parseConfig(
      `routes:\n  - id: b\n    forward: { url: http://127.0.0.1:9/b }\n    path: /b\n  - id: a\n    path: /a\n    forward: { url: http://127.0.0.1:9/a }\n`,
      'c.yaml',
    );
    expect(routeChanges(before, reordered)).toEqual({ added: [], removed: [], changed: [] });
    const after = parseConfig(
      `routes:\n  - id: b\n    path: /b\n    forward: { url: http://127.0.0.1:9/b2 }\n  - id: c\n    path: /c\n    forward: { url: http://127.0.0.1:9/c }\n`,
      'c.yaml',
    );
    expect(routeChanges(before, after)).toEqual({ added: ['c'], removed: ['a'], changed: ['b'] });
  });
});
