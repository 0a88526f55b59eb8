/**
 * The admin API listener: deliveries (list, count, show one, replay by ids or by a filter, purge)
 * and queue stats as JSON, the loaded configuration and its reload, behind the host guard
 * (guard.ts) and the admin token; and the web console under `/console` (console/index.ts), behind
 * the same guard. The filter of list, count and replay is read by filter.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { SecretValues } from '../core/secret-values.ts';
import { closeAfterAnswer } from '../ingress/linger.ts';
import { attemptView, detail, parseAge, statsView, summary } from '../present/view.ts';
import type { DeliveryStatus, QueueDriver, ReplayFilter } from '../queue/types.ts';
import type { Logger } from '../telemetry/log.ts';
import { createConsole } from './console/index.ts';
import { FILTER_FIELDS, readFilter } from './filter.ts';
import { createHostGuard, requireJsonBody } from './guard.ts';
import { AdminError, adminErrorBody, badRequest, bearerCheck, readJson, sendJson } from './http.ts';
import type { AdminLive } from './live.ts';

/**
 * The admin API (docs/queue.md): list, show, replay and purge deliveries, and queue statistics,
 * as JSON on its own listener. The caller of createAdminServer decides where it listens.
 */
export interface AdminOptions {
  /** The queue, or how to find it: a reload may open one when a queued route first appears. */
  driver: QueueDriver | (() => QueueDriver | undefined) | undefined;
  /** The running relay's configuration and routes, and its reload (`GET /config`, `GET /routes`, `POST /reload`). */
  live?: AdminLive | undefined;
  /** When set, every request needs `Authorization: Bearer <token>`. */
  token?: string | undefined;
  /** The listen address (`admin.host`, default loopback): requests must name it (see guard.ts). */
  host?: string | undefined;
  /** Further names in `Host` the API answers to (`admin.allowedHosts`). */
  allowedHosts?: readonly string[] | undefined;
  /** Values of the configuration that are never shown (redacted from every answer). */
  secrets?: SecretValues | undefined;
  logger: Logger;
  /** Called with the routes that have deliveries due again after a replay, so workers wake. */
  onReplay?: ((routeIds: string[]) => void) | undefined;
  now?: () => number;
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
const MAX_IDS = 1000;

type Handler = (req: IncomingMessage, url: URL, id: string | undefined) => Promise<unknown>;

/** Marks `POST /reload` in the table: it chooses its own status (200 or 422). */
const reloadHandler: Handler = async () => undefined;

export function createAdminServer(options: AdminOptions): Server {
  const { logger, live } = options;
  const driverOf =
    typeof options.driver === 'function' ? options.driver : () => options.driver as QueueDriver | undefined;
  // Every delivery endpoint reads the queue through this: none until a route queues.
  const queue = (): QueueDriver => {
    const found = driverOf();
    if (!found) {
      throw new AdminError('HOOKRELAY_ERR_ADMIN_NOT_FOUND', {
        reason: 'no queue: no route of the loaded configuration is async or hybrid',
      });
    }
    return found;
  };
  const now = options.now ?? Date.now;
  const secrets = options.secrets ?? SecretValues.none;
  const authorized = options.token ? bearerCheck(options.token) : () => true;
  // Before the token: a page in a browser must learn nothing, not even whether a token is needed.
  const guard = createHostGuard({ host: options.host ?? '127.0.0.1', allowedHosts: options.allowedHosts });
  // The web console (console/): its own login and CSRF check, behind the same guard.
  const webConsole = createConsole({
    queue: driverOf,
    live,
    token: options.token,
    secrets,
    now,
    onReplay: options.onReplay,
    logger,
  });

  const list: Handler = async (_req, url) => {
    const query = url.searchParams;
    known(query.keys(), [...FILTER_FIELDS, 'limit', 'after'], 'query parameter');
    const limit = query.has('limit') ? positiveInt(query.get('limit'), 'limit', MAX_LIMIT) : DEFAULT_LIMIT;
    const records = await queue().list({
      ...readFilter((name) => query.get(name) ?? undefined, now()),
      limit,
      after: query.get('after') ?? undefined,
    });
    return {
      deliveries: await Promise.all(records.map(summary)),
      // Pass as `after` for the next page.
      next: records.length === limit ? records[records.length - 1]!.id : null,
    };
  };

  const count: Handler = async (_req, url) => {
    const query = url.searchParams;
    known(query.keys(), [...FILTER_FIELDS], 'query parameter');
    return { count: await queue().count(readFilter((name) => query.get(name) ?? undefined, now())) };
  };

  const show: Handler = async (_req, _url, id) => {
    const found = await queue().get(id!);
    if (!found) throw new AdminError('HOOKRELAY_ERR_ADMIN_NOT_FOUND', { reason: `no delivery '${id}'` });
    return { delivery: await detail(found.record), attempts: found.attempts.map(attemptView) };
  };

  const replay: Handler = async (req) => {
    const body = await readJson(req);
    known(Object.keys(body), ['ids', ...FILTER_FIELDS, 'dryRun'], 'field');
    if (body.ids !== undefined) {
      const extra = [...FILTER_FIELDS, 'dryRun'].filter((name) => body[name] !== undefined);
      if (extra.length > 0) {
        throw badRequest(
          `give either \`ids\` or a filter (\`status\` and others), not both: got ${extra.join(', ')}`,
        );
      }
      const ids = body.ids;
      if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => typeof id === 'string')) {
        throw badRequest('`ids` must be a non-empty array of delivery ids');
      }
      if (ids.length > MAX_IDS) throw badRequest(`at most ${MAX_IDS} ids per request`);
      const records = await Promise.all(ids.map((id: string) => queue().get(id)));
      const notFound = ids.filter((_id, i) => records[i] === undefined);
      const routes = [...new Set(records.flatMap((r) => (r ? [r.record.routeId] : [])))];
      const replayed = await queue().replay({ ids: ids.filter((_id, i) => records[i] !== undefined) }, now());
      if (replayed > 0) options.onReplay?.(routes);
      return { replayed, notFound };
    }
    if (body.status !== 'dead' && body.status !== 'delivered') {
      throw badRequest(
        'give `ids`, or `status` ("dead" or "delivered") with optional `route`, `code`, `lastStatus`, `since`, `until`, `dryRun`',
      );
    }
    if (body.dryRun !== undefined && typeof body.dryRun !== 'boolean')
      throw badRequest('`dryRun` must be true or false');
    const filter: ReplayFilter = { ...readFilter((name) => body[name], now()), status: body.status };
    if (body.dryRun) return { matched: await queue().count(filter) };
    const replayed = await queue().replay(filter, now());
    if (replayed > 0) {
      // The routes that now have deliveries due: the filter's, or every route with pending ones.
      const routes =
        filter.routeId !== undefined
          ? [filter.routeId]
          : Object.entries((await queue().stats()).byRoute).flatMap(([route, counts]) =>
              counts.pending.count > 0 ? [route] : [],
            );
      options.onReplay?.(routes);
    }
    return { replayed };
  };

  const purge: Handler = async (req) => {
    const body = await readJson(req);
    known(Object.keys(body), ['status', 'olderThan', 'route'], 'field');
    const status = body.status;
    // Pending and in-flight deliveries were acknowledged to their callers: never purged from here.
    if (status !== 'delivered' && status !== 'dead')
      throw badRequest('`status` must be "delivered" or "dead"');
    if (typeof body.olderThan !== 'string' && typeof body.olderThan !== 'number') {
      throw badRequest('`olderThan` is required: a duration such as "7d", "12h" or "30m"');
    }
    let age: number;
    try {
      age = parseAge(body.olderThan);
    } catch (error) {
      throw badRequest(`olderThan: ${(error as Error).message}`);
    }
    const route = optionalString(body.route, 'route');
    const purged = await queue().purge({
      status: status as DeliveryStatus,
      routeId: route,
      olderThan: now() - age,
    });
    return { purged };
  };

  const stats: Handler = async () => statsView(await queue().stats());

  const config: Handler = async () => {
    const view = liveOf().config();
    // Absent values are null in answers, as everywhere in the API.
    return { ...view, lastReload: view.lastReload ?? null };
  };

  const routes: Handler = async () => ({ routes: liveOf().routes() });

  /** 200 with the new hash when applied or unchanged; 422 with every error when refused. */
  const reload = async (req: IncomingMessage, res: ServerResponse): Promise<number> => {
    await readJson(req);
    const report = await liveOf().reload('api');
    const status = report.result === 'refused' ? 422 : 200;
    sendJson(res, status, report, {}, (text) => secrets.redact(text));
    return status;
  };

  function liveOf(): AdminLive {
    if (!live) throw new AdminError('HOOKRELAY_ERR_ADMIN_NOT_FOUND', { reason: 'no running relay' });
    return live;
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<number> => {
    guard(req);
    const url = new URL(req.url ?? '/', 'http://admin');
    if (webConsole.owns(url.pathname)) return webConsole.handle(req, res, url);
    if (!authorized(req.headers.authorization)) {
      throw new AdminError(
        'HOOKRELAY_ERR_ADMIN_UNAUTHORIZED',
        {},
        {
          'www-authenticate': 'Bearer realm="hookrelay-admin"',
        },
      );
    }
    const [handler, method, id] = match(url.pathname);
    if (!handler)
      throw new AdminError('HOOKRELAY_ERR_ADMIN_NOT_FOUND', { reason: `no admin endpoint ${url.pathname}` });
    if (req.method !== method && !(method === 'GET' && req.method === 'HEAD')) {
      throw new AdminError(
        'HOOKRELAY_ERR_ADMIN_METHOD_NOT_ALLOWED',
        { path: url.pathname, method },
        {
          allow: method === 'GET' ? 'GET, HEAD' : method,
        },
      );
    }
    requireJsonBody(req);
    if (handler === reloadHandler) return reload(req, res);
    sendJson(res, 200, await handler(req, url, id), {}, (text) => secrets.redact(text));
    return 200;
  };

  function match(path: string): [Handler | undefined, string, string | undefined] {
    if (path === '/deliveries') return [list, 'GET', undefined];
    // Before /deliveries/:id: `count` is not a delivery id (ids are hex, see queue/ids.ts).
    if (path === '/deliveries/count') return [count, 'GET', undefined];
    if (path === '/deliveries/replay') return [replay, 'POST', undefined];
    if (path === '/deliveries/purge') return [purge, 'POST', undefined];
    if (path === '/queue/stats') return [stats, 'GET', undefined];
    if (path === '/config') return [config, 'GET', undefined];
    if (path === '/routes') return [routes, 'GET', undefined];
    if (path === '/reload') return [reloadHandler, 'POST', undefined];
    const one = /^\/deliveries\/([^/]+)$/.exec(path);
    if (one) return [show, 'GET', decode(one[1]!)];
    return [undefined, 'GET', undefined];
  }

  return createServer((req, res) => {
    const started = performance.now();
    const path = safePath(req.url);
    handle(req, res)
      .catch((error: unknown) => {
        const failure =
          error instanceof AdminError
            ? error
            : new AdminError('HOOKRELAY_ERR_ADMIN_QUEUE', { reason: (error as Error).message });
        if (failure.status >= 500) logger.error({ err: error, path }, 'admin request failed');
        // A body not read (401, 403, 404, 415): the caller reads this answer instead of a reset,
        // then the connection closes (the rest of the upload is discarded, bounded in time).
        const unread = !req.complete;
        if (unread) closeAfterAnswer(req.socket);
        const headers = unread ? { ...failure.headers, connection: 'close' } : failure.headers;
        sendJson(res, failure.status, adminErrorBody(failure), headers);
        return failure.status;
      })
      .then((status) => {
        logger.info(
          {
            admin: true,
            method: req.method,
            path,
            status,
            durationMs: Math.round(performance.now() - started),
          },
          'admin request',
        );
      });
  });
}

/** The path without the query string (never logged: it may hold ids operators paste around). */
function safePath(url: string | undefined): string {
  const path = (url ?? '/').split('?')[0]!;
  return path.length > 200 ? `${path.slice(0, 200)}…` : path;
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest(`malformed delivery id '${segment}'`);
  }
}

function known(keys: Iterable<string>, allowed: string[], what: string): void {
  for (const key of keys) {
    if (!allowed.includes(key))
      throw badRequest(`unknown ${what} '${key}', expected one of: ${allowed.join(', ')}`);
  }
}

function positiveInt(value: string | null, name: string, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value ?? '') || n < 1 || n > max)
    throw badRequest(`${name} must be an integer from 1 to ${max}`);
  return n;
}

function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw badRequest(`\`${name}\` must be a non-empty string`);
  return value;
}
