#!/usr/bin/env node
// hookrelay's entry point (`npm start`, `npx hookrelay`, the Dockerfile). It runs dist/, the
// sources with their types stripped once (bin/build.js), and builds dist/ first when the sources
// changed; where dist/ cannot be written it runs src/ itself with Node's type stripping.
// HOOKRELAY_FROM_SOURCE=1 always runs src/. Node's compile cache is on (V8 code for every module
// kept in the OS temp folder, reused while the file is unchanged): ~25% less time to ready for
// ~3 MB more RSS (docs/performance.md); NODE_DISABLE_COMPILE_CACHE=1 turns it off.
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  process.stderr.write(`hookrelay needs Node.js 24 or newer; this is ${process.version}.\n`);
  process.exit(1);
}
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();
let entry = '../src/main.ts';
if (process.env.HOOKRELAY_FROM_SOURCE !== '1') {
  const { ensureBuilt } = await import('./build.js');
  const { fileURLToPath } = await import('node:url');
  const built = await ensureBuilt(fileURLToPath(new URL('..', import.meta.url)));
  if (built.state === 'unavailable')
    process.stderr.write(`hookrelay: running the sources (dist/ could not be built: ${built.reason})\n`);
  else entry = '../dist/main.js';
}
await import(entry);
