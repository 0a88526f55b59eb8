/**
 * The small-body scenarios' processes as specs that `startService` / `withFreshService`
 * (bench/lib.ts) start fresh for every measurement: the target (shared by a run), hookrelay with
 * the bench config (one route per scenario), and the Node forwarder floors. nginx's spec is in
 * bench/nginx.ts. Every start gets a free port, and hookrelay a config file and SQLite queue of its
 * own, so nothing a measurement left behind is seen by the next.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, relayEntry, type ServiceSpec } from './lib.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = relayEntry(ROOT);
const here = (p: string) => join(ROOT, 'bench', p);

export interface BenchSetup {
  work: string;
  token: string;
  targetPort: number;
  failingPort: number;
}

/** The bench config: one route per small-body scenario, retries fast, admin off. */
export function benchConfig(setup: BenchSetup, port: number, queuePath: string): string {
  const { token, targetPort, failingPort } = setup;
  const forward = (p: number) => `
    forward:
      url: http://127.0.0.1:${p}/hook
      auth: { type: bearer, token: "${token}" }`;
  return `server: { port: ${port}, host: 127.0.0.1 }
queue: { driver: sqlite, path: ${queuePath} }
admin: { enabled: false }
defaults:
  retry: { attempts: 5, minDelay: 5ms, maxDelay: 50ms }
routes:
  - id: bench-json
    path: /bench/json${forward(targetPort)}
  - id: bench-xml
    path: /bench/xml${forward(targetPort)}
    transform:
      - type: xml
        soap: true
      - type: map
        fields:
          id: OrderCreated.OrderId
          customer: OrderCreated.Customer.Name
          amount: OrderCreated.Total
          currency: OrderCreated.Currency
  - id: bench-async
    path: /bench/async
    delivery: async${forward(targetPort)}
    queue: { concurrency: 16 }
  - id: bench-stream
    path: /bench/stream
    delivery: stream${forward(targetPort)}
  - id: bench-retry
    path: /bench/retry${forward(failingPort)}
`;
}

let starts = 0;

/** hookrelay with the bench config, ready at its first 200 from /readyz. */
export async function hookrelaySpec(setup: BenchSetup): Promise<ServiceSpec> {
  const port = await freePort();
  const n = ++starts;
  const file = join(setup.work, `hookrelay-${n}.yaml`);
  writeFileSync(file, benchConfig(setup, port, join(setup.work, `queue-${n}.db`)));
  return {
    name: 'hookrelay',
    command: process.execPath,
    args: [MAIN, 'start', '-c', file],
    ready: { port, path: '/readyz' },
  };
}

/** hookrelay with config/hookrelay.yaml, the example a user starts first (PORT sets its port). */
export async function exampleSpec(): Promise<ServiceSpec> {
  const port = await freePort();
  return {
    name: 'hookrelay-example',
    command: process.execPath,
    args: [MAIN, 'start', '-c', join(ROOT, 'config/hookrelay.yaml')],
    env: { PORT: String(port) },
    ready: { port, path: '/readyz' },
  };
}

/**
 * The Node floor (bench/forwarder.ts); `xml` also parses the SOAP body and maps 4 fields;
 * `obligations` adds the request id, metrics and log line the relay must keep.
 */
export async function forwarderSpec(
  setup: BenchSetup,
  authorization: string,
  mode: 'json' | 'xml' | 'obligations' = 'json',
): Promise<ServiceSpec> {
  const port = await freePort();
  const names = {
    json: 'node-forwarder',
    xml: 'node-forwarder-xml',
    obligations: 'node-forwarder-obligations',
  };
  return {
    name: names[mode],
    command: process.execPath,
    args: [here('forwarder.ts')],
    env: {
      PORT: String(port),
      TARGET: `http://127.0.0.1:${setup.targetPort}/hook`,
      AUTH: authorization,
      MODE: mode,
    },
    ready: { port },
  };
}

/** The benchmark target (bench/target.ts); `failEvery` answers 503 to one request in N. */
export async function targetSpec(name: string, authorization: string, failEvery = 0): Promise<ServiceSpec> {
  const port = await freePort();
  return {
    name,
    command: process.execPath,
    args: [here('target.ts')],
    env: { PORT: String(port), EXPECT_AUTH: authorization, FAIL_EVERY: String(failEvery) },
    ready: { port },
  };
}
