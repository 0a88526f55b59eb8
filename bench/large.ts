/**
 * The large-body scenario: 10 MB uploads (POST) and downloads (GET) through the target called
 * directly, nginx with buffering off, a hookrelay `delivery: stream` prefix route, and, for
 * contrast, buffered hookrelay routes whose limits allow the size. Every measurement of nginx and
 * hookrelay runs in a fresh process (started, warmed up, measured, stopped), and the peak RSS is
 * reset after the warm-up, so each row's peak is what that system needed for that load. Throughput is MB (2^20 bytes) per second of wall time.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CORES,
  cpuSeconds,
  freePort,
  HAS_TASKSET,
  mean,
  relayEntry,
  resetPeakRss,
  rssMb,
  type ServiceSpec,
  withFreshService,
} from './lib.ts';

interface LargeSystem {
  name: string;
  /** The shared target's base URL: the scenario appends `/upload` or `/download`. */
  base?: string;
  pids?: () => number[];
  /** A fresh process per measurement, and the path its base URL has. */
  spec?: () => Promise<ServiceSpec>;
  path?: string;
  /** Sent by the client itself (the target called directly needs it). */
  authorization?: string;
}

interface TransferResult {
  count: number;
  bytes: number;
  seconds: number;
  mbps: number;
  non2xx: number;
  errors: number;
  p50: number;
  p99: number;
}

export interface LargeRow extends TransferResult {
  mode: 'upload' | 'download';
  system: string;
  round: number;
  cpuMsPerTransfer: number;
  startRssMb: number;
  peakRssMb: number;
}

export interface LargeSummary {
  mode: 'upload' | 'download';
  system: string;
  mbps: number;
  p50: number;
  p99: number;
  transfers: number;
  failures: number;
  vsDirect: number;
  vsNginx: number | undefined;
  vsBuffered: number;
  cpuMsPerTransfer: number;
  startRssMb: number;
  peakRssMb: number;
}

const TRANSFER = fileURLToPath(new URL('./transfer.ts', import.meta.url));
const MAIN = relayEntry(fileURLToPath(new URL('..', import.meta.url)));

function transfer(
  url: string,
  mode: 'upload' | 'download',
  bytes: number,
  count: number,
  concurrency: number,
  seconds: number,
  authorization = '',
): Promise<TransferResult> {
  const pinned = HAS_TASKSET && CORES > 1;
  return new Promise((resolve, reject) => {
    execFile(
      pinned ? 'taskset' : process.execPath,
      pinned ? ['-c', '0', process.execPath, TRANSFER] : [TRANSFER],
      {
        env: {
          ...process.env,
          URL: url,
          MODE: mode,
          BYTES: String(bytes),
          COUNT: String(count),
          CONCURRENCY: String(concurrency),
          SECONDS: String(seconds),
          AUTHORIZATION: authorization,
        },
        timeout: (seconds + 90) * 1000,
      },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`transfer client failed: ${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout.trim().split('\n').pop()!) as TransferResult);
      },
    );
  });
}

/** A hookrelay with the given routes (pinned to core 1 beside the target), ready at /readyz. */
async function relaySpec(name: string, routes: string, work: string): Promise<ServiceSpec> {
  const port = await freePort();
  const file = join(work, `${name}.yaml`);
  writeFileSync(
    file,
    `server: { port: ${port}, host: 127.0.0.1 }
queue: { driver: memory }
admin: { enabled: false }
routes:
${routes}`,
  );
  return {
    name,
    command: process.execPath,
    args: [MAIN, 'start', '-c', file],
    ready: { port, path: '/readyz' },
  };
}

export async function largeBodies(options: {
  target: { port: number; pids: () => number[] };
  /** A fresh nginx per measurement; undefined when nginx is not installed. */
  nginx: (() => Promise<ServiceSpec>) | undefined;
  token: string;
  work: string;
  children: ChildProcess[];
  smoke: boolean;
  seconds: number;
  warmup: number;
  rounds: number;
}): Promise<{ rows: LargeRow[]; summary: LargeSummary[] }> {
  const env = process.env;
  const mb = Number(env.BENCH_LARGE_MB ?? 10);
  const bytes = mb * 1024 * 1024;
  const concurrency = Number(env.BENCH_LARGE_CONCURRENCY ?? (options.smoke ? 2 : 4));
  const count = Number(env.BENCH_LARGE_COUNT ?? (options.smoke ? 2 : 2000));
  const target = `http://127.0.0.1:${options.target.port}`;
  const auth = `{ type: bearer, token: "${options.token}" }`;
  const limit = `${Math.ceil(mb * 1.5)}mb`;
  const began = performance.now();
  const stream = `  - id: large-stream
    path: /large/*
    methods: [GET, POST]
    delivery: stream
    forward:
      url: ${target}/
      auth: ${auth}
    limits: { body: ${limit} }
`;
  const buffered = `  - id: large-upload
    path: /large/upload
    forward:
      url: ${target}/upload
      auth: ${auth}
    limits: { body: ${limit}, response: ${limit} }
  - id: large-download
    path: /large/download
    methods: [GET]
    forward:
      url: ${target}/download
      auth: ${auth}
    limits: { response: ${limit} }
`;
  const systems: LargeSystem[] = [
    { name: 'direct', base: target, pids: options.target.pids, authorization: `Bearer ${options.token}` },
    ...(options.nginx ? [{ name: 'nginx', path: '/large', spec: options.nginx }] : []),
    {
      name: 'hookrelay-stream',
      path: '/large',
      spec: () => relaySpec('hookrelay-stream', stream, options.work),
    },
    {
      name: 'hookrelay-buffered',
      path: '/large',
      spec: () => relaySpec('hookrelay-buffered', buffered, options.work),
    },
  ];
  process.stdout.write(
    `\nlarge bodies: ${mb} MB, ${concurrency} at a time, up to ${count} transfers or ${options.seconds}s per measurement\n`,
  );
  const measure = async (
    mode: 'upload' | 'download',
    system: LargeSystem,
    base: string,
    pids: () => number[],
    round: number,
  ): Promise<LargeRow> => {
    const url = `${base}/${mode}`;
    const run = (n: number, seconds: number) =>
      transfer(url, mode, bytes, n, concurrency, seconds, system.authorization);
    if (options.warmup > 0) await run(concurrency * 2, options.warmup);
    const list = pids();
    resetPeakRss(list);
    const startRssMb = rssMb(list).rss;
    const cpu0 = cpuSeconds(list);
    const result = await run(count, options.seconds);
    const cpu = cpuSeconds(list) - cpu0;
    return {
      ...result,
      mode,
      system: system.name,
      round,
      cpuMsPerTransfer: result.count > 0 ? (cpu * 1000) / result.count : 0,
      startRssMb,
      peakRssMb: rssMb(list).peak,
    };
  };
  const rows: LargeRow[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    for (const mode of ['upload', 'download'] as const) {
      for (const system of systems) {
        // Every measurement but the target's own runs in a fresh process.
        const row = system.spec
          ? await withFreshService(system.spec, options.children, (service) =>
              measure(mode, system, `${service.url}${system.path ?? ''}`, service.pids, round),
            )
          : await measure(mode, system, system.base!, system.pids!, round);
        rows.push(row);
        process.stdout.write(
          `  round ${round} large-${mode} ${system.name}: ${row.mbps.toFixed(0)} MB/s (${row.count} transfers)\n`,
        );
      }
    }
  }
  const summary = summarise(rows);
  print(summary);
  process.stdout.write(`large bodies: ${((performance.now() - began) / 1000).toFixed(1)} s\n`);
  return { rows, summary };
}

function summarise(rows: LargeRow[]): LargeSummary[] {
  const out: LargeSummary[] = [];
  for (const mode of ['upload', 'download'] as const) {
    const of = (system: string) => rows.filter((r) => r.mode === mode && r.system === system);
    const mbpsOf = (system: string) => mean(of(system).map((r) => r.mbps));
    const nginx = of('nginx').length > 0 ? mbpsOf('nginx') : undefined;
    for (const system of [...new Set(rows.filter((r) => r.mode === mode).map((r) => r.system))]) {
      const rs = of(system);
      const mbps = mbpsOf(system);
      out.push({
        mode,
        system,
        mbps,
        p50: mean(rs.map((r) => r.p50)),
        p99: Math.max(...rs.map((r) => r.p99)),
        transfers: rs.reduce((a, r) => a + r.count, 0),
        failures: rs.reduce((a, r) => a + r.non2xx + r.errors, 0),
        vsDirect: mbps / mbpsOf('direct'),
        vsNginx: nginx === undefined ? undefined : mbps / nginx,
        vsBuffered: mbps / mbpsOf('hookrelay-buffered'),
        cpuMsPerTransfer: mean(rs.map((r) => r.cpuMsPerTransfer)),
        startRssMb: mean(rs.map((r) => r.startRssMb)),
        peakRssMb: Math.max(...rs.map((r) => r.peakRssMb)),
      });
    }
  }
  return out;
}

function print(summary: LargeSummary[]): void {
  const header = [
    'scenario',
    'system',
    'MB/s',
    'p50 ms',
    'p99 ms',
    'failed',
    'x direct',
    'x nginx',
    'x buffered',
    'cpu ms/transfer',
    'RSS before MB',
    'peak RSS MB',
  ];
  const lines = summary.map((s) => [
    `large-${s.mode}`,
    s.system,
    s.mbps.toFixed(0),
    s.p50.toFixed(1),
    s.p99.toFixed(1),
    String(s.failures),
    s.vsDirect.toFixed(2),
    s.vsNginx === undefined ? '—' : s.vsNginx.toFixed(2),
    s.vsBuffered.toFixed(2),
    s.cpuMsPerTransfer.toFixed(1),
    s.startRssMb.toFixed(0),
    s.peakRssMb.toFixed(0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  process.stdout.write(
    `\n${fmt(header)}\n| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |\n${lines.map(fmt).join('\n')}\n`,
  );
}
