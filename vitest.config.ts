import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Memory measurements run alone afterwards (vitest.memory.config.ts): under the load of the
    // other test files, garbage collection runs late and RSS readings say more about the
    // machine than about the relay.
    exclude: ['**/node_modules/**', 'test/**/*.memory.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    // dist/ (what bin/hookrelay.js runs) built once, before any test starts the relay through it.
    globalSetup: ['test/support/build-dist.ts'],
  },
});
