/**
 * A real OTLP/HTTP receiver for the tracing tests: a node:http server on 127.0.0.1 port 0 that
 * keeps every export to /v1/traces (raw bytes and content type) and, for JSON, its spans flattened.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  links: { traceId: string; spanId: string }[];
  status: { code?: number };
}

export interface Receiver {
  url: string;
  raw: { contentType: string; body: Buffer }[];
  spans(): ExportedSpan[];
  close(): Promise<void>;
}

type AnyValue = {
  stringValue?: string;
  intValue?: number | string;
  boolValue?: boolean;
  doubleValue?: number;
};

function value(v: AnyValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.boolValue !== undefined) return v.boolValue;
  return v.doubleValue;
}

export async function startReceiver(): Promise<Receiver> {
  const raw: Receiver['raw'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/traces')
        raw.push({ contentType: String(req.headers['content-type']), body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    raw,
    spans() {
      const out: ExportedSpan[] = [];
      for (const { contentType, body } of raw) {
        if (!contentType.includes('json')) continue;
        const doc = JSON.parse(body.toString()) as {
          resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[];
        };
        for (const rs of doc.resourceSpans)
          for (const ss of rs.scopeSpans)
            for (const s of ss.spans) {
              const attributes: Record<string, unknown> = {};
              for (const a of (s.attributes ?? []) as { key: string; value: AnyValue }[])
                attributes[a.key] = value(a.value);
              out.push({
                traceId: s.traceId as string,
                spanId: s.spanId as string,
                parentSpanId: (s.parentSpanId as string | undefined) ?? '',
                name: s.name as string,
                kind: s.kind as number,
                attributes,
                links: ((s.links ?? []) as { traceId: string; spanId: string }[]).map((l) => ({
                  traceId: l.traceId,
                  spanId: l.spanId,
                })),
                status: (s.status ?? {}) as { code?: number },
              });
            }
      }
      return out;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
