/**
 * A relay cut down to one seam: the routes of a YAML config compiled as the app compiles them, one
 * delivery mode started alone (or none), and the lifecycle behind a plain node:http server on an
 * ephemeral 127.0.0.1 port. The queue, when a mode needs one, is a recording QueueAccess: what the
 * mode offered is kept for the test to read. Logs are captured as parsed JSON lines.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { z } from 'zod';
import { type CompiledRoute, compileRoutes } from '../../src/config/compile.ts';
import { parseConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/core/errors.ts';
import { SecretValues } from '../../src/core/secret-values.ts';
import { Clients } from '../../src/delivery/client.ts';
import { modeOf, type QueueAccess } from '../../src/modes/index.ts';
import type { RelayContext } from '../../src/pipeline/context.ts';
import { createLifecycle } from '../../src/pipeline/lifecycle.ts';
import type { DeliveryMode } from '../../src/pipeline/mode.ts';
import { createRouter } from '../../src/pipeline/router.ts';
import type { Offer } from '../../src/queue/queue.ts';
import type { NewDelivery } from '../../src/queue/types.ts';
import { createLogger } from '../../src/telemetry/log.ts';
import { createMetrics, type Metrics } from '../../src/telemetry/metrics.ts';

export const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;

export function compile(source: string): CompiledRoute[] {
  return compileRoutes(parseConfig(source, 'test.yaml', { env: {} }));
}

/** A QueueAccess that accepts every offer and keeps it. */
export interface RecordingQueue extends QueueAccess {
  offered: NewDelivery[];
  notified: string[];
}

export function recordingQueue(answer: Offer = { kind: 'accepted' }): RecordingQueue {
  const offered: NewDelivery[] = [];
  const notified: string[] = [];
  return {
    offered,
    notified,
    offer: async (delivery) => {
      offered.push(delivery);
      return answer;
    },
    notify: (routeId) => void notified.push(routeId),
  };
}

export interface Seam {
  url: string;
  routes: CompiledRoute[];
  ctx: RelayContext;
  metrics: Metrics;
  logs: Record<string, unknown>[];
  server: Server;
  /** Resolves once every call handed to the lifecycle has ended (begin/end balanced). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export interface SeamOptions {
  /** The modes to start, each for the routes of its type; none: calls of every route reach no mode. */
  modes?: readonly string[];
  queue?: QueueAccess;
  shuttingDown?: boolean;
}

export async function startSeam(source: string, options: SeamOptions = {}): Promise<Seam> {
  const routes = compile(source);
  const logs: Record<string, unknown>[] = [];
  const sink = {
    write(line: string) {
      logs.push(JSON.parse(line) as Record<string, unknown>);
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  const logger = createLogger('info', sink);
  const metrics = createMetrics({ version: 'test', defaultMetrics: false });
  const clients = new Clients();
  const modes = new Map<string, DeliveryMode>();
  for (const type of options.modes ?? []) {
    const own = routes.filter((route) => route.delivery === type);
    modes.set(
      type,
      modeOf(type).start(own, {
        clients,
        metrics,
        logger,
        requestIdHeader: 'x-request-id',
        secrets: new SecretValues([]),
        queue: options.queue,
      }),
    );
  }
  let inFlight = 0;
  let waiters: (() => void)[] = [];
  const ctx: RelayContext = {
    routing: { current: { match: createRouter(routes), modes } },
    metrics,
    logger,
    requestIdHeader: 'x-request-id',
    lifecycle: {
      shuttingDown: options.shuttingDown ?? false,
      begin() {
        inFlight++;
      },
      end() {
        inFlight--;
        if (inFlight === 0) {
          for (const wake of waiters) wake();
          waiters = [];
        }
      },
    },
  };
  const handler = createLifecycle(ctx, (_req, res) => {
    res.statusCode = 404;
    res.end('fallback');
  });
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    routes,
    ctx,
    metrics,
    logs,
    server,
    idle: () => (inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...modes.values()].map((mode) => mode.close?.()));
      await clients.close();
    },
  };
}

/** The `request` log lines. */
export const requestLines = (logs: readonly Record<string, unknown>[]) =>
  logs.filter((line) => line.msg === 'request');

/** The issues `check` of the mode adds for a route as the user wrote it, as `path: message`. */
export function issuesOf(type: string, route: Record<string, unknown>): string[] {
  const issues: string[] = [];
  const ctx = {
    addIssue: (issue: { path?: PropertyKey[]; message?: string }) =>
      issues.push(`${(issue.path ?? []).map(String).join('.')}: ${issue.message}`),
  } as unknown as z.core.$RefinementCtx;
  modeOf(type).check(route, ctx);
  return issues;
}

/** `path: message` of every issue the configuration loader reports for `source`; none: []. */
export function configErrors(source: string): string[] {
  try {
    parseConfig(source, 'test.yaml', { env: {} });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
  }
  return [];
}

/** One route of `mode` forwarding to `url`, with `extra` lines (4-space indented keys). */
export const oneRoute = (mode: string | undefined, url: string, ...extra: string[]) =>
  yaml(
    'routes:',
    '  - id: r',
    '    path: /in',
    `    forward: { url: "${url}" }`,
    ...(mode ? [`    delivery: ${mode}`] : []),
    ...extra,
  );

/** Connections the server holds open now. */
export const openConnections = (server: Server) =>
  new Promise<number>((resolve, reject) =>
    server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
  );
