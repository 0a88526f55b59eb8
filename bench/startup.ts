/**
 * The startup scenario: how long hookrelay takes from spawn to its first 200 from `/readyz`
 * (polled every 5 ms over a fresh connection), and its resident memory (VmRSS) 3 s after it was
 * ready and left idle, with config/hookrelay.yaml (the example a user starts first) and with the
 * bench config. Three reference rows put the figures in proportion: a bare
 * `node -e "setInterval(()=>{},1000)"`, the node-forwarder floor (ready: its first accepted
 * connection) and the stack's libraries alone (bench/libraries.mjs: the libraries every relay
 * imports, then a listening socket; ready: its first accepted connection). Each run is a fresh process pinned to core 1; the systems take turns, run after
 * run, and each figure is the median of BENCH_STARTUP_RUNS (5) runs.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import {
  ExitedEarly,
  freePort,
  median,
  type Readiness,
  rssMb,
  type ServiceSpec,
  startPinned,
  stop,
  waitReady,
} from './lib.ts';
import { table } from './summary.ts';
import { type BenchSetup, exampleSpec, forwarderSpec, hookrelaySpec } from './systems.ts';

export interface StartupRun {
  /** Spawn to ready, ms (undefined for bare node, which has nothing to be ready for). */
  readyMs?: number;
  idleRssMb: number;
  /** VmHWM at the same moment: the most the process held while starting. */
  idlePeakMb: number;
}

export interface StartupRow {
  system: string;
  /** What "ready" means for this row. */
  ready: string;
  readyMs?: number;
  readyMinMs?: number;
  readyMaxMs?: number;
  idleRssMb: number;
  idleRssMinMb: number;
  idleRssMaxMb: number;
  idlePeakMb: number;
  runs: StartupRun[];
}

export interface StartupOptions {
  setup: BenchSetup;
  authorization: string;
  children: ChildProcess[];
  runs: number;
  /** How long after ready the idle RSS is read (3 s). */
  idleMs?: number;
}

/** What to start; without `ready` (bare node) the process counts as ready once spawned. */
type Launch = Pick<ServiceSpec, 'command' | 'args' | 'env'> & { ready?: Readiness };

interface Subject {
  system: string;
  ready: string;
  spec: () => Promise<Launch>;
}

async function startOnce(subject: Subject, children: ChildProcess[], idleMs: number): Promise<StartupRun> {
  const spec = await subject.spec();
  const began = performance.now();
  const child = startPinned(1, spec.command, spec.args, spec.env);
  children.push(child);
  try {
    if (spec.ready) await waitReady(spec.ready, child, 5);
    else await once(child, 'spawn');
    const readyMs = spec.ready ? performance.now() - began : undefined;
    await new Promise((r) => setTimeout(r, idleMs));
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${subject.system} exited`);
    const { rss, peak } = rssMb([child.pid!]);
    return { ...(readyMs === undefined ? {} : { readyMs }), idleRssMb: rss, idlePeakMb: peak };
  } finally {
    await stop(child);
  }
}

/** A run whose child exited before it was ready (its free port taken) is run again, up to 3 times. */
async function startAgainIfExited(run: () => Promise<StartupRun>): Promise<StartupRun> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof ExitedEarly) || attempt >= 3) throw error;
      process.stderr.write(`bench: startup: ${error.message}; running it again\n`);
    }
  }
}

export async function startupBench(options: StartupOptions): Promise<StartupRow[]> {
  const idleMs = options.idleMs ?? 3_000;
  const readyz = 'first 200 from /readyz';
  const subjects: Subject[] = [
    { system: 'hookrelay (config/hookrelay.yaml)', ready: readyz, spec: exampleSpec },
    { system: 'hookrelay (bench config)', ready: readyz, spec: () => hookrelaySpec(options.setup) },
    {
      system: 'node-forwarder',
      ready: 'first accepted connection',
      spec: () => forwarderSpec(options.setup, options.authorization),
    },
    {
      system: "the stack's libraries alone",
      ready: 'first accepted connection',
      spec: async () => {
        const port = await freePort();
        return {
          command: process.execPath,
          args: [fileURLToPath(new URL('libraries.mjs', import.meta.url))],
          env: { PORT: String(port) },
          ready: { port },
        };
      },
    },
    {
      system: 'bare node (setInterval)',
      ready: 'spawned',
      spec: async () => ({ command: process.execPath, args: ['-e', 'setInterval(()=>{},1000)'] }),
    },
  ];
  const runs = new Map<Subject, StartupRun[]>(subjects.map((s) => [s, []]));
  for (let run = 1; run <= options.runs; run++) {
    for (const subject of subjects) {
      const result = await startAgainIfExited(() => startOnce(subject, options.children, idleMs));
      runs.get(subject)!.push(result);
      process.stdout.write(
        `  run ${run} startup ${subject.system}: ${result.readyMs === undefined ? '' : `ready ${result.readyMs.toFixed(0)} ms, `}` +
          `idle RSS ${result.idleRssMb.toFixed(0)} MB\n`,
      );
    }
  }
  return subjects.map((subject) => {
    const list = runs.get(subject)!;
    const ready = list.flatMap((r) => (r.readyMs === undefined ? [] : [r.readyMs]));
    const rss = list.map((r) => r.idleRssMb);
    return {
      system: subject.system,
      ready: subject.ready,
      ...(ready.length > 0
        ? { readyMs: median(ready), readyMinMs: Math.min(...ready), readyMaxMs: Math.max(...ready) }
        : {}),
      idleRssMb: median(rss),
      idleRssMinMb: Math.min(...rss),
      idleRssMaxMb: Math.max(...rss),
      idlePeakMb: median(list.map((r) => r.idlePeakMb)),
      runs: list,
    };
  });
}

export function printStartup(rows: StartupRow[], idleMs = 3_000): void {
  const floor = rows.find((r) => r.system === 'node-forwarder')?.idleRssMb;
  const bare = rows.find((r) => r.system.startsWith('bare node'))?.idleRssMb;
  const x = (n: number, d: number | undefined) => (d ? (n / d).toFixed(2) : '—');
  const range = (lo: number | undefined, hi: number | undefined) =>
    lo === undefined || hi === undefined ? '—' : `${lo.toFixed(0)}–${hi.toFixed(0)}`;
  const runs = rows[0]?.runs.length ?? 0;
  process.stdout.write(
    `\nstartup and idle memory (median of ${runs} fresh processes; idle RSS = VmRSS ${idleMs / 1000} s after ready):\n`,
  );
  process.stdout.write(
    table(
      ['system', 'ready when', 'ready ms', 'range ms', 'idle RSS MB', 'range MB', 'x floor', 'x bare node'],
      rows.map((r) => [
        r.system,
        r.ready,
        r.readyMs === undefined ? '—' : r.readyMs.toFixed(0),
        range(r.readyMinMs, r.readyMaxMs),
        r.idleRssMb.toFixed(0),
        range(r.idleRssMinMb, r.idleRssMaxMb),
        x(r.idleRssMb, floor),
        x(r.idleRssMb, bare),
      ]),
    ),
  );
}
