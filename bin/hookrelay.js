#!/usr/bin/env node
// hookrelay runs its TypeScript sources directly with Node's built-in type stripping (Node >= 24).
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  process.stderr.write(`hookrelay needs Node.js 24 or newer; this is ${process.version}.\n`);
  process.exit(1);
}
await import('../src/main.ts');
