/**
 * The "Node floor": the least a Node relay must do — node:http in, buffer the body, add the
 * Authorization header, forward over an undici keep-alive pool, relay status and body. MODE=xml
 * also parses the SOAP body with fast-xml-parser and maps 4 fields to JSON (the transform floor).
 */
import { createServer } from 'node:http';
import { XMLParser } from 'fast-xml-parser';
import { Pool } from 'undici';

const target = new URL(process.env.TARGET ?? 'http://127.0.0.1:9');
const auth = process.env.AUTH ?? '';
const mode = process.env.MODE ?? 'json';
const pool = new Pool(target.origin, { connections: 128, keepAliveTimeout: 4_000 });
const parser = new XMLParser({ ignoreAttributes: true, removeNSPrefix: true, parseTagValue: false });

interface Order {
  Envelope: {
    Body: { OrderCreated: { OrderId: string; Customer: { Name: string }; Total: string; Currency: string } };
  };
}

function transform(body: Buffer): Buffer {
  const doc = parser.parse(body) as Order;
  const order = doc.Envelope.Body.OrderCreated;
  return Buffer.from(
    JSON.stringify({
      id: order.OrderId,
      customer: order.Customer.Name,
      amount: order.Total,
      currency: order.Currency,
    }),
  );
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', async () => {
    try {
      let body: Buffer = Buffer.concat(chunks);
      const headers: Record<string, string> = { authorization: auth };
      if (mode === 'xml') {
        body = transform(body);
        headers['content-type'] = 'application/json';
      } else headers['content-type'] = req.headers['content-type'] ?? 'application/octet-stream';
      const response = await pool.request({ method: 'POST', path: target.pathname, headers, body });
      const answer = Buffer.from(await response.body.arrayBuffer());
      res.writeHead(response.statusCode, {
        'content-type': String(response.headers['content-type'] ?? 'application/json'),
        'content-length': answer.length,
      });
      res.end(answer);
    } catch (error) {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(String(error));
    }
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' ? address?.port : 0 })}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
