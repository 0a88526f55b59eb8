/**
 * Benchmark target: a minimal node:http server that reads the body, checks the injected
 * Authorization header and answers 200 with a small JSON body. FAIL_EVERY=N answers 503 to one
 * request in N (the retry scenario). A GET answers DOWNLOAD_BYTES (10 MB) of body instead (the
 * large-body download scenario). Prints its port on stdout.
 */
import { createServer } from 'node:http';

const expected = process.env.EXPECT_AUTH;
const failEvery = Number(process.env.FAIL_EVERY ?? 0);
const OK = Buffer.from('{"ok":true}');
const UNAUTHORIZED = Buffer.from('{"ok":false,"error":"unauthorized"}');
const UNAVAILABLE = Buffer.from('{"ok":false,"error":"try again"}');
const DOWNLOAD = Buffer.alloc(Number(process.env.DOWNLOAD_BYTES ?? 10 * 1024 * 1024), 'hookrelay-bench-');
let count = 0;

const server = createServer((req, res) => {
  let bytes = 0;
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  req.on('end', () => {
    count++;
    let status = 200;
    let body = OK;
    if (expected && req.headers.authorization !== expected) {
      status = 401;
      body = UNAUTHORIZED;
    } else if (failEvery > 0 && count % failEvery === 0) {
      status = 503;
      body = UNAVAILABLE;
    } else if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': DOWNLOAD.length });
      res.end(DOWNLOAD);
      return;
    }
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': body.length,
      'x-bytes': bytes,
    });
    res.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' ? address?.port : 0 })}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
