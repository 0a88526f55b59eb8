import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AdminLive, ReloadReport, RouteView } from '../../../src/admin/live.ts';
import { createAdminServer } from '../../../src/admin/server.ts';
import { SecretValues } from '../../../src/core/secret-values.ts';
import { newDeliveryId } from '../../../src/queue/ids.ts';
import { createDriver } from '../../../src/queue/index.ts';
import type { AttemptLog, NewDelivery, QueueDriver } from '../../../src/queue/types.ts';
import { createLogger } from '../../../src/telemetry/log.ts';

/** The console over a real admin listener, a memory queue and a hand-built AdminLive. */

export interface ConsoleHarness {
  url: string;
  port: number;
  driver: QueueDriver;
  reloads: number;
  replays: string[][];
  close(): Promise<void>;
}

const DAY = 86_400_000;

export function fakeLive(state: { reloads: number; refuse?: boolean }): AdminLive {
  let last: ReloadReport | undefined;
  return {
    config: () => ({
      file: '/etc/hookrelay/hookrelay.yaml',
      hash: 'a'.repeat(64),
      loadedAt: Date.now() - 60_000,
      lastReload: last,
    }),
    routes: (): RouteView[] => [
      {
        id: 'orders',
        delivery: 'async',
        methods: ['POST'],
        path: '/in/orders',
        targets: [{ name: 'orders', url: 'https://erp.example/api?key=s3cr3t-value', queueId: 'orders' }],
        circuits: { orders: 'open' },
      },
      {
        id: 'ping',
        delivery: 'sync',
        methods: ['GET'],
        path: '/ping',
        targets: [{ name: 'ping', url: 'https://x.example/', queueId: undefined }],
        circuits: {},
      },
    ],
    reload: async (trigger) => {
      state.reloads++;
      last = {
        result: state.refuse ? 'refused' : 'applied',
        trigger,
        at: Date.now(),
        durationMs: 3,
        hash: 'b'.repeat(64),
        errors: state.refuse ? ['hookrelay.yaml:3:5: routes[0].path: <b>bad</b> s3cr3t-value'] : [],
        restartRequired: [],
        routes: { added: [], removed: [], changed: state.refuse ? [] : ['orders'] },
      };
      return last;
    },
  };
}

export async function startConsole(
  options: { token?: string; refuse?: boolean } = {},
): Promise<ConsoleHarness> {
  const driver = createDriver(
    {
      driver: 'memory',
      path: '',
      retention: { delivered: 7 * DAY, dead: 30 * DAY },
      maxPending: 10_000,
      maxPendingBytes: 1 << 30,
      keepAttempts: 20,
    },
    createLogger('silent'),
  );
  const state = { reloads: 0, refuse: options.refuse };
  const replays: string[][] = [];
  const server: Server = createAdminServer({
    driver,
    live: fakeLive(state),
    token: options.token,
    secrets: new SecretValues(['s3cr3t-value']),
    logger: createLogger('silent'),
    onReplay: (routes) => replays.push(routes),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    driver,
    get reloads() {
      return state.reloads;
    },
    replays,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await driver.close();
    },
  };
}

export function newDelivery(
  routeId: string,
  body: string,
  at = Date.now(),
  headers: Record<string, string> = {},
): NewDelivery {
  return {
    id: newDeliveryId(at),
    routeId,
    requestId: `req-${at}`,
    request: {
      method: 'POST',
      url: 'https://erp.example/api',
      headers: { 'content-type': 'application/json', ...headers },
      body: Buffer.from(body),
    },
    createdAt: at,
    nextAttemptAt: at,
    attempts: 0,
  };
}

/** Enqueues and ends it dead after one failed attempt (with an error code). */
export async function putDead(
  driver: QueueDriver,
  d: NewDelivery,
  code = 'HOOKRELAY_ERR_UPSTREAM_TIMEOUT',
  trace: Pick<AttemptLog, 'traceId' | 'spanId'> = {},
): Promise<string> {
  await driver.enqueue(d);
  const leased = await driver.lease(d.routeId, 1000, 30_000, Date.now() + 1);
  await driver.release(leased.map((r) => r.id).filter((id) => id !== d.id));
  await driver.dead(d.id, {
    reason: 'max attempts reached',
    attempt: { at: Date.now(), durationMs: 10, status: undefined, error: 'target timed out', code, ...trace },
    response: undefined,
  });
  return d.id;
}
