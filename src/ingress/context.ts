import type { IncomingMessage } from 'node:http';
import type { CompiledRoute } from '../config/compile.ts';
import type { SecretValues } from '../config/secret-values.ts';
import type { Clients } from '../delivery/client.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/index.ts';
import type { StreamProxy } from '../stream/proxy.ts';
import type { AcceptContext } from './accept.ts';
import type { BodyRateWatch } from './body-rate.ts';
import type { Match } from './router.ts';

/** What the request handler and its helpers share: routing, metrics, logs, clients, lifecycle. */
export interface RelayContext {
  /** Present when some route delivers asynchronously (async or hybrid). */
  accept?: AcceptContext | undefined;
  match: (method: string, path: string) => Match<CompiledRoute>;
  metrics: Metrics;
  logger: Logger;
  clients: Clients;
  requestIdHeader: string;
  /** Values of the configuration never shown (the echo route redacts them); none when absent. */
  secrets?: SecretValues | undefined;
  /** The proxy of `delivery: stream` routes (closed by the app on stop). */
  streams?: StreamProxy | undefined;
  /** `server.minBodyRate` for the bodies being read (none: no minimum). */
  bodyRate?: BodyRateWatch | undefined;
  /** begin/end around every request to a route (the concurrency caps count on them). */
  lifecycle: { shuttingDown: boolean; begin(req: IncomingMessage): void; end(req: IncomingMessage): void };
}
