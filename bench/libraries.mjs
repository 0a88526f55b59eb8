/**
 * The startup floor of hookrelay's stack: a bare Node process that imports the libraries every relay
 * needs (undici, prom-client, pino, zod, js-yaml) with Node's compile cache on, as bin/hookrelay.js
 * runs, then listens on PORT and does nothing else. Plain JavaScript, so no type stripping is loaded.
 * Its time to the first accepted connection and its idle RSS are what no code of ours can go below.
 */
import module from 'node:module';

module.enableCompileCache?.();
await Promise.all([
  import('undici'),
  import('prom-client'),
  import('pino'),
  import('zod'),
  import('js-yaml'),
]);
const { createServer } = await import('node:http');
const server = createServer((_req, res) => res.end('ok'));
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
