/**
 * What the relay's listener answers outside its configured routes: `GET`/`HEAD` `/healthz`,
 * `/readyz` and the metrics path, and the JSON 404 (HOOKRELAY_ERR_ROUTE_NOT_FOUND) for everything
 * else. Plain node:http: express, which answered these four, cost ~20 MB of RSS and ~70 ms at
 * every start (docs/performance.md). Paths match as express matched them: the query ignored,
 * letters in any case, one trailing slash allowed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HookrelayError } from '../core/errors.ts';
import { requestIdOf } from '../pipeline/call.ts';
import type { RelayContext } from '../pipeline/context.ts';
import { finishError } from '../pipeline/finish.ts';

export interface FallbackOptions {
  metricsPath: string | undefined;
  isReady: () => boolean;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  // A HEAD request gets the headers only: node:http leaves the body out.
  res.end(text);
}

/** The request's path without its query, as it came (percent-encoding kept). */
function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

function normalise(path: string): string {
  const lower = path.toLowerCase();
  return lower.length > 1 && lower.endsWith('/') ? lower.slice(0, -1) : lower;
}

export function createFallback(ctx: RelayContext, options: FallbackOptions): Handler {
  const answers = new Map<string, Handler>();
  answers.set('/healthz', (_req, res) => json(res, 200, { status: 'ok' }));
  answers.set('/readyz', (_req, res) => {
    const ready = options.isReady();
    json(res, ready ? 200 : 503, { status: ready ? 'ready' : 'shutting down' });
  });
  if (options.metricsPath) {
    const { registry } = ctx.metrics;
    answers.set(normalise(options.metricsPath), (req, res) => {
      const started = performance.now();
      registry.metrics().then(
        (text) => {
          res.writeHead(200, {
            'content-type': registry.contentType,
            'content-length': Buffer.byteLength(text),
          });
          res.end(text);
        },
        (cause: unknown) => {
          const error = new HookrelayError('HOOKRELAY_ERR_INTERNAL', {}, { cause });
          finishError(
            ctx,
            res,
            error,
            null,
            req.method ?? 'GET',
            requestIdOf(req, ctx.requestIdHeader),
            started,
          );
        },
      );
    });
  }
  return (req, res) => {
    const path = pathOf(req);
    if (req.method === 'GET' || req.method === 'HEAD') {
      const answer = answers.get(normalise(path));
      if (answer) return answer(req, res);
    }
    const started = performance.now();
    const requestId = requestIdOf(req, ctx.requestIdHeader);
    const method = req.method ?? 'GET';
    const error = new HookrelayError('HOOKRELAY_ERR_ROUTE_NOT_FOUND', { method, path: truncate(path) });
    finishError(ctx, res, error, null, method, requestId, started);
  };
}

/** The path as the 404 quotes it: at most 200 characters. */
function truncate(path: string): string {
  return path.length > 200 ? `${path.slice(0, 200)}…` : path;
}
