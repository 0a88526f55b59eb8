/**
 * What every console screen is given: the queue and the live relay (as the admin API reads them),
 * the secret values to redact, the clock, and the request being answered with its session.
 */
import type { IncomingMessage } from 'node:http';
import type { SecretValues } from '../../core/secret-values.ts';
import type { QueueDriver } from '../../queue/types.ts';
import type { AdminLive } from '../live.ts';
import type { Assets } from './assets.ts';
import type { SafeHtml } from './html.ts';
import type { PageContext } from './layout.ts';

export interface ConsoleDeps {
  /** The queue, or undefined when no route queues. */
  queue: () => QueueDriver | undefined;
  live: AdminLive | undefined;
  secrets: SecretValues;
  now: () => number;
  /** Wakes the workers of routes with deliveries due again after a replay. */
  onReplay: (routeIds: string[]) => void;
  assets: Assets;
}

export interface ConsoleRequest extends PageContext {
  req: IncomingMessage;
  url: URL;
  /** The submitted form of a POST (already checked for its CSRF token). */
  form: URLSearchParams;
  /** Whether htmx asked for a fragment (`HX-Request`, not a history restore). */
  fragment: boolean;
}

/** A screen's answer: a status and a page, or a redirect. */
export type Answer =
  | { status: number; body: SafeHtml; headers?: Record<string, string> }
  | { redirect: string };

/** Values the configuration took from the environment or files, hidden as the admin API does: over the JSON text of a view. */
export function redactView<T>(secrets: SecretValues, view: T): T {
  return JSON.parse(secrets.redact(JSON.stringify(view))) as T;
}
