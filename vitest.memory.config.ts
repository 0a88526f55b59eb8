import { defineConfig } from 'vitest/config';

/** RSS measurements of a relay child process, one file at a time, after the main suite. */
export default defineConfig({
  test: {
    include: ['test/**/*.memory.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
