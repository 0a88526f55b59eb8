/**
 * The tracing scenario: the sync JSON + Bearer route with tracing off, on with every trace sampled
 * (ratio 1.0) and on with one in ten (0.1), in the same run. Each variant is a fresh relay process
 * (so its peak RSS is its own) exporting OTLP http/json to a sink this module starts on 127.0.0.1,
 * which counts export requests, bytes and spans. Rounds rotate the variants' order so drift on a
 * noisy machine does not always favour the same one. Figures are ratios to tracing off.
 */
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  cpuSeconds,
  freePort,
  mean,
  relayEntry,
  resetPeakRss,
  rssMb,
  type ScenarioOptions,
  type ServiceSpec,
  startService,
  stop,
} from './lib.ts';
import { runWrk } from './wrk.ts';

export type TracingOptions = ScenarioOptions;

export interface TracingRow {
  variant: string;
  round: number;
  requests: number;
  rps: number;
  p99: number;
  non2xx: number;
  socketErrors: number;
  cpuUsPerReq: number;
  peakRssMb: number;
  /** Spans, export requests and bytes the sink received over the variant's whole life. */
  spans: number;
  exports: number;
  bytes: number;
  /** Requests the relay served over its whole life (warm-up included): the spans' denominator. */
  served: number;
}

export interface TracingSummary {
  variant: string;
  rps: number;
  p99: number;
  cpuUsPerReq: number;
  peakRssMb: number;
  spansPerReq: number;
  bytesPerReq: number;
  rpsRatio: number;
  cpuRatio: number;
  p99DeltaMs: number;
  rssRatio: number;
  non2xx: number;
  socketErrors: number;
}

interface Variant {
  name: string;
  env: Record<string, string>;
}

const root = fileURLToPath(new URL('..', import.meta.url));

/** An OTLP/HTTP JSON sink: counts requests, bytes and the spans in each export. */
async function startSink(): Promise<{
  url: string;
  server: Server;
  counts: () => Counts;
  reset: () => void;
}> {
  let counts: Counts = { exports: 0, bytes: 0, spans: 0 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      counts.exports++;
      counts.bytes += body.length;
      try {
        const doc = JSON.parse(body.toString('utf8')) as {
          resourceSpans?: { scopeSpans?: { spans?: unknown[] }[] }[];
        };
        for (const rs of doc.resourceSpans ?? [])
          for (const ss of rs.scopeSpans ?? []) counts.spans += ss.spans?.length ?? 0;
      } catch {
        // Not JSON: counted as bytes only.
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    counts: () => ({ ...counts }),
    reset: () => {
      counts = { exports: 0, bytes: 0, spans: 0 };
    },
  };
}

interface Counts {
  exports: number;
  bytes: number;
  spans: number;
}

/** A relay with the sync JSON route and the variant's OTEL_* environment, ready at /readyz. */
async function relaySpec(options: TracingOptions, variant: Variant): Promise<ServiceSpec> {
  const port = await freePort();
  const file = join(options.work, `tracing-${variant.name}.yaml`);
  writeFileSync(
    file,
    `server: { port: ${port}, host: 127.0.0.1 }
admin: { enabled: false }
defaults:
  retry: { attempts: 5, minDelay: 5ms, maxDelay: 50ms }
routes:
  - id: bench-json
    path: /bench/json
    forward:
      url: http://127.0.0.1:${options.targetPort}/hook
      auth: { type: bearer, token: "${options.token}" }
`,
  );
  // The variant's OTEL_* only: a tracing variable in the bench's own environment must not leak into "off".
  const clean: Record<string, string> = {};
  for (const key of Object.keys(process.env)) if (key.startsWith('OTEL_')) clean[key] = '';
  return {
    name: `tracing-${variant.name}`,
    command: process.execPath,
    args: [relayEntry(root), 'start', '-c', file],
    env: { ...clean, ...variant.env },
    ready: { port, path: '/readyz' },
  };
}

export async function tracingBench(
  options: TracingOptions,
): Promise<{ rows: TracingRow[]; summary: TracingSummary[] }> {
  const sink = await startSink();
  const on = (ratio: string): Record<string, string> => ({
    OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_SERVICE_NAME: 'hookrelay-bench',
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: ratio,
  });
  const variants: Variant[] = [
    { name: 'off', env: {} },
    { name: 'on-1.0', env: on('1.0') },
    { name: 'on-0.1', env: on('0.1') },
  ];
  const rows: TracingRow[] = [];
  try {
    for (let round = 1; round <= options.rounds; round++) {
      const shift = (round - 1) % variants.length;
      const order = [...variants.slice(shift), ...variants.slice(0, shift)];
      for (const variant of order) {
        sink.reset();
        const service = await startService(() => relaySpec(options, variant), options.children);
        const relay = { url: `${service.url}/bench/json`, child: service.child };
        const pids = [relay.child.pid!];
        const ct = 'application/json';
        const warm =
          options.warmup > 0
            ? await runWrk(relay.url, options.warmup, options.connections, options.bodyFile, ct)
            : { requests: 0 };
        resetPeakRss(pids);
        const cpu0 = cpuSeconds(pids);
        const result = await runWrk(relay.url, options.seconds, options.connections, options.bodyFile, ct);
        const cpu = cpuSeconds(pids) - cpu0;
        const peakRssMb = rssMb(pids).peak;
        // SIGTERM ends the relay gracefully: the batch span processor flushes what it holds.
        await stop(relay.child);
        const counts = sink.counts();
        rows.push({
          variant: variant.name,
          round,
          requests: result.requests,
          rps: result.rps,
          p99: result.p99,
          non2xx: result.non2xx,
          socketErrors: result.socketErrors,
          cpuUsPerReq: result.requests > 0 ? (cpu * 1e6) / result.requests : 0,
          peakRssMb,
          ...counts,
          served: warm.requests + result.requests,
        });
        process.stdout.write(`  round ${round} tracing ${variant.name}: ${result.rps.toFixed(0)} req/s\n`);
      }
    }
  } finally {
    sink.server.closeAllConnections();
    sink.server.close();
  }
  return {
    rows,
    summary: summariseTracing(
      rows,
      variants.map((v) => v.name),
    ),
  };
}

export function summariseTracing(rows: TracingRow[], order: string[]): TracingSummary[] {
  const of = (name: string) => rows.filter((r) => r.variant === name);
  const base = of('off');
  const baseRps = mean(base.map((r) => r.rps));
  const baseCpu = mean(base.map((r) => r.cpuUsPerReq));
  const baseP99 = mean(base.map((r) => r.p99));
  const baseRss = mean(base.map((r) => r.peakRssMb));
  return order.map((variant) => {
    const list = of(variant);
    const rps = mean(list.map((r) => r.rps));
    const cpuUsPerReq = mean(list.map((r) => r.cpuUsPerReq));
    const p99 = mean(list.map((r) => r.p99));
    const peakRssMb = mean(list.map((r) => r.peakRssMb));
    const served = list.reduce((a, r) => a + r.served, 0);
    return {
      variant,
      rps,
      p99,
      cpuUsPerReq,
      peakRssMb,
      spansPerReq: served > 0 ? list.reduce((a, r) => a + r.spans, 0) / served : 0,
      bytesPerReq: served > 0 ? list.reduce((a, r) => a + r.bytes, 0) / served : 0,
      rpsRatio: baseRps > 0 ? rps / baseRps : 0,
      cpuRatio: baseCpu > 0 ? cpuUsPerReq / baseCpu : 0,
      p99DeltaMs: p99 - baseP99,
      rssRatio: baseRss > 0 ? peakRssMb / baseRss : 0,
      non2xx: list.reduce((a, r) => a + r.non2xx, 0),
      socketErrors: list.reduce((a, r) => a + r.socketErrors, 0),
    };
  });
}

export function printTracing(summary: TracingSummary[]): void {
  const pad = (s: string, n: number) => s.padEnd(n);
  const num = (n: number, d = 0) => n.toFixed(d).padStart(9);
  process.stdout.write(
    '\ntracing (sync json-bearer; ratios to tracing off, same run):\n' +
      `  ${pad('variant', 9)}${'req/s'.padStart(9)}${'x off'.padStart(9)}${'cpu µs/r'.padStart(9)}${'x off'.padStart(9)}` +
      `${'p99 ms'.padStart(9)}${'+ms'.padStart(9)}${'peak MB'.padStart(9)}${'x off'.padStart(9)}${'spans/r'.padStart(9)}${'B/req'.padStart(9)}\n`,
  );
  for (const s of summary)
    process.stdout.write(
      `  ${pad(s.variant, 9)}${num(s.rps)}${num(s.rpsRatio, 2)}${num(s.cpuUsPerReq, 1)}${num(s.cpuRatio, 2)}` +
        `${num(s.p99, 2)}${num(s.p99DeltaMs, 2)}${num(s.peakRssMb)}${num(s.rssRatio, 2)}${num(s.spansPerReq, 2)}${num(s.bytesPerReq)}\n`,
    );
}

/** What makes the scenario fail: errors, no traffic, or tracing on with no span at the sink. */
export function tracingFailures(summary: TracingSummary[]): string[] {
  const bad: string[] = [];
  for (const s of summary) {
    if (s.non2xx > 0 || s.socketErrors > 0 || s.rps === 0) bad.push(`tracing/${s.variant}`);
    if (s.variant === 'off' && s.spansPerReq > 0) bad.push('tracing/off exported spans');
    if (s.variant !== 'off' && s.spansPerReq === 0) bad.push(`tracing/${s.variant} exported no span`);
  }
  return bad;
}
