/**
 * vitest global setup: builds dist/ once before the test files run (bin/build.js), so the tests
 * that start the relay as users do (`bin/hookrelay.js`, which runs dist/) do not all race to
 * build it at their first spawn.
 */
import { fileURLToPath } from 'node:url';
// @ts-expect-error: bin/build.js is plain JavaScript (it must load without type stripping).
import { ensureBuilt } from '../../bin/build.js';

export default async function setup(): Promise<void> {
  const result = (await ensureBuilt(fileURLToPath(new URL('../..', import.meta.url)))) as {
    state: string;
    reason?: string;
  };
  if (result.state === 'unavailable') throw new Error(`dist/ could not be built: ${result.reason}`);
}
