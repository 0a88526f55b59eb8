/**
 * The "Node floor": the least a Node relay must do — node:http in, buffer the body, add the
 * Authorization header, forward over an undici keep-alive pool, relay status and body. MODE=xml
 * also parses the SOAP body with fast-xml-parser and maps 4 fields to JSON (the transform floor).
 * MODE=obligations adds what issue 17's targets require of the relay besides forwarding, done by the
 * same libraries and nothing else: a request id sent both ways, `X-Forwarded-For`, the 8 prom-client
 * updates per request hookrelay makes, and one pino `info` line per request to stdout.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { XMLParser } from 'fast-xml-parser';
import pino from 'pino';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
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

/** The metrics and log line hookrelay keeps per request, as src/telemetry/ defines them. */
function obligations() {
  const registry = new Registry();
  const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
  const registers = [registry];
  const counter = (name: string, labelNames: string[]) =>
    new Counter({ name, help: name, labelNames, registers });
  const histogram = (name: string, labelNames: string[]) =>
    new Histogram({ name, help: name, labelNames, buckets, registers });
  let lastMs = -1;
  let lastTime = '';
  const isoTime = () => {
    const now = Date.now();
    if (now !== lastMs) {
      lastMs = now;
      lastTime = `,"time":"${new Date(now).toISOString()}"`;
    }
    return lastTime;
  };
  return {
    requests: counter('requests_total', ['route', 'method', 'status']),
    requestDuration: histogram('request_duration_seconds', ['route', 'method']),
    inFlight: new Gauge({ name: 'in_flight', help: 'in_flight', labelNames: ['route'], registers }),
    attempts: counter('attempts_total', ['route', 'outcome']),
    upstreamDuration: histogram('upstream_duration_seconds', ['route', 'outcome']),
    deliveries: counter('deliveries_total', ['route', 'result']),
    bodyBytes: counter('body_bytes_total', ['route']),
    logger: pino({
      base: { service: 'floor' },
      timestamp: isoTime,
      formatters: { level: (label) => ({ level: label }) },
    }),
  };
}
const duties = mode === 'obligations' ? obligations() : undefined;
const ROUTE = { route: 'bench-json' };

const server = createServer((req, res) => {
  const started = performance.now();
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
      if (duties === undefined) {
        const response = await pool.request({ method: 'POST', path: target.pathname, headers, body });
        const answer = Buffer.from(await response.body.arrayBuffer());
        res.writeHead(response.statusCode, {
          'content-type': String(response.headers['content-type'] ?? 'application/json'),
          'content-length': answer.length,
        });
        res.end(answer);
        return;
      }
      const requestId = randomUUID();
      duties.inFlight.inc(ROUTE);
      duties.bodyBytes.inc(ROUTE, body.length);
      headers['x-request-id'] = requestId;
      headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
      const sent = performance.now();
      const response = await pool.request({ method: 'POST', path: target.pathname, headers, body });
      const answer = Buffer.from(await response.body.arrayBuffer());
      const outcome = `${Math.floor(response.statusCode / 100)}xx`;
      duties.attempts.inc({ route: ROUTE.route, outcome });
      duties.upstreamDuration.observe({ route: ROUTE.route, outcome }, (performance.now() - sent) / 1000);
      duties.deliveries.inc({ route: ROUTE.route, result: 'delivered' });
      res.writeHead(response.statusCode, {
        'content-type': String(response.headers['content-type'] ?? 'application/json'),
        'content-length': answer.length,
        'x-request-id': requestId,
      });
      res.end(answer);
      const seconds = (performance.now() - started) / 1000;
      duties.inFlight.dec(ROUTE);
      duties.requests.inc({ route: ROUTE.route, method: 'POST', status: String(response.statusCode) });
      duties.requestDuration.observe({ route: ROUTE.route, method: 'POST' }, seconds);
      duties.logger.info(
        {
          requestId,
          route: ROUTE.route,
          method: 'POST',
          status: response.statusCode,
          attempts: 1,
          durationMs: Math.round(seconds * 1e6) / 1e3,
        },
        'request',
      );
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
