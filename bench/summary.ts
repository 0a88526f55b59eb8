/**
 * The small-body scenarios' table: rows averaged over the rounds, each as ratios to the target
 * called directly, to nginx and to the scenario's floor, all measured in the same run. A ratio
 * whose reference was not measured (e.g. `--only soap-xml-map` has no direct row) prints as "—".
 */
import { mean } from './lib.ts';
import type { Row, Scenario } from './scenarios.ts';

export interface Summary {
  scenario: string;
  system: string;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  socketErrors: number;
  requests: number;
  vsDirect: number | undefined;
  vsNginx: number | undefined;
  vsFloor: number;
  cpuUsPerReq: number;
  targetCpuUsPerReq: number;
  cpuVsFloor: number;
  peakRssMb: number;
  rssVsFloor: number;
  /** Measured only as another scenario's floor. */
  reference?: boolean;
}

export function summarise(rows: Row[], scenarios: Scenario[]): Summary[] {
  const pick = (scenario: string, system: string) =>
    rows.filter((r) => r.scenario === scenario && r.system === system);
  const meanOf = (list: Row[], f: (r: Row) => number) => (list.length > 0 ? mean(list.map(f)) : undefined);
  const json = scenarios.find((s) => s.id === 'json-bearer')?.name ?? 'json-bearer';
  const directRps = meanOf(pick(json, 'direct'), (r) => r.rps);
  const nginxRps = meanOf(pick(json, 'nginx'), (r) => r.rps);
  const out: Summary[] = [];
  for (const scenario of scenarios) {
    const floorName =
      scenarios.find((s) => s.id === scenario.floor.scenario)?.name ?? scenario.floor.scenario;
    const floor = pick(floorName, scenario.floor.system);
    const floorRps = mean(floor.map((r) => r.rps));
    const floorCpu = mean(floor.map((r) => r.cpuUsPerReq));
    // No floor rows (a reference row measured alone): the ratios print as —.
    const floorRss = floor.length > 0 ? Math.max(...floor.map((r) => r.peakRssMb)) : Number.NaN;
    for (const system of scenario.systems) {
      const rs = pick(scenario.name, system.name);
      if (rs.length === 0) continue;
      const rps = mean(rs.map((r) => r.rps));
      const cpu = mean(rs.map((r) => r.cpuUsPerReq));
      const peak = Math.max(...rs.map((r) => r.peakRssMb));
      out.push({
        scenario: scenario.name,
        system: system.name,
        rps,
        p50: mean(rs.map((r) => r.p50)),
        p99: Math.max(...rs.map((r) => r.p99)),
        non2xx: rs.reduce((a, r) => a + r.non2xx, 0),
        socketErrors: rs.reduce((a, r) => a + r.socketErrors, 0),
        requests: rs.reduce((a, r) => a + r.requests, 0),
        vsDirect: directRps === undefined ? undefined : rps / directRps,
        vsNginx: nginxRps === undefined ? undefined : rps / nginxRps,
        vsFloor: rps / floorRps,
        cpuUsPerReq: cpu,
        targetCpuUsPerReq: mean(rs.map((r) => r.targetCpuUsPerReq)),
        cpuVsFloor: cpu / floorCpu,
        peakRssMb: peak,
        rssVsFloor: peak / floorRss,
        ...(scenario.referenceFor ? { reference: true } : {}),
      });
    }
  }
  return out;
}

/** A Markdown table, columns padded to their widest cell. */
export function table(header: string[], lines: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return `${fmt(header)}\n| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |\n${lines.map(fmt).join('\n')}\n`;
}

export function printSummary(summary: Summary[]): void {
  const ratio = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(2));
  const header = [
    'scenario',
    'system',
    'req/s',
    'p50 ms',
    'p99 ms',
    'non-2xx',
    'x direct',
    'x nginx',
    'x floor',
    'cpu µs/req',
    'x floor cpu',
    'target µs/req',
    'peak RSS MB',
    'x floor RSS',
  ];
  const lines = summary.map((s) => [
    s.reference ? `${s.scenario} (ref)` : s.scenario,
    s.system,
    s.rps.toFixed(0),
    s.p50.toFixed(2),
    s.p99.toFixed(2),
    String(s.non2xx + s.socketErrors),
    ratio(s.vsDirect),
    ratio(s.vsNginx),
    ratio(s.vsFloor),
    s.cpuUsPerReq.toFixed(0),
    ratio(s.cpuVsFloor),
    s.targetCpuUsPerReq.toFixed(0),
    s.peakRssMb.toFixed(0),
    ratio(s.rssVsFloor),
  ]);
  process.stdout.write(`\n${table(header, lines)}`);
  if (summary.some((s) => s.reference))
    process.stdout.write('(ref): measured only as the floor of a selected scenario\n');
  const relay = summary.find((s) => s.scenario === 'json-bearer' && s.system === 'hookrelay');
  const floor = summary.find((s) => s.scenario === 'json-bearer' && s.system === 'node-forwarder');
  if (relay && floor)
    process.stdout.write(
      `peak RSS under json-bearer load (fresh processes): hookrelay ${relay.peakRssMb.toFixed(0)} MB, ` +
        `node-forwarder ${floor.peakRssMb.toFixed(0)} MB: ${(relay.peakRssMb / floor.peakRssMb).toFixed(2)}x the floor\n`,
    );
}

export interface Latency {
  direct: { p50: number; p99: number; non2xx: number };
  hookrelay: { p50: number; p99: number; non2xx: number };
}

export function printLatency(latency: Latency, rate: number, seconds: number): void {
  process.stdout.write(`\nfixed rate ${rate} req/s, ${seconds} s, json-bearer:\n`);
  for (const [name, r] of Object.entries(latency)) {
    process.stdout.write(
      `  ${name.padEnd(10)} p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  non-2xx ${r.non2xx}\n`,
    );
  }
  process.stdout.write(
    `  hookrelay p99 - direct p99 = ${(latency.hookrelay.p99 - latency.direct.p99).toFixed(2)} ms\n`,
  );
}
