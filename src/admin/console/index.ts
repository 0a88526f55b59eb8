/**
 * The admin web console, mounted under `/console` on the admin listener (docs/console.md). The
 * listener's host guard has run before this; here: who may see it (the bearer header, or the
 * session cookie of a login, or anyone on a token-less loopback listener), the CSRF check of
 * every POST (csrf.ts), bounded form bodies, and the dispatch to the screens. Every answer is
 * HTML with the security headers of layout.ts, errors included.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyTooLargeError, readLimited } from '../../core/read-limited.ts';
import { SecretValues } from '../../core/secret-values.ts';
import { closeAfterAnswer } from '../../ingress/linger.ts';
import type { QueueDriver } from '../../queue/types.ts';
import type { Logger } from '../../telemetry/log.ts';
import { AdminError, badRequest, bearerCheck } from '../http.ts';
import type { AdminLive } from '../live.ts';
import { loadAssets } from './assets.ts';
import type { Answer, ConsoleDeps, ConsoleRequest } from './context.ts';
import { createSessions } from './csrf.ts';
import { deliveriesScreen } from './deliveries-screen.ts';
import { detailScreen } from './detail-screen.ts';
import { html } from './html.ts';
import { page, redirect, SECURITY_HEADERS, sendHtml } from './layout.ts';
import { loginForm } from './login.ts';
import { purgeAction, purgeForm } from './purge-screen.ts';
import { replayAction } from './replay-action.ts';
import { routesScreen } from './routes-screen.ts';

/** A form body larger than this is refused (the largest, a page of ticked ids, is a few KiB). */
export const MAX_FORM = 64 * 1024;

export interface ConsoleOptions {
  queue: () => QueueDriver | undefined;
  live?: AdminLive | undefined;
  token?: string | undefined;
  secrets?: SecretValues | undefined;
  now?: (() => number) | undefined;
  onReplay?: ((routeIds: string[]) => void) | undefined;
  logger: Logger;
}

export interface AdminConsole {
  /** Whether a path is the console's (`/`, `/console`, `/console/…`). */
  owns(path: string): boolean;
  /** Answers the request; resolves to the status sent. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<number>;
}

export function createConsole(options: ConsoleOptions): AdminConsole {
  const assets = loadAssets();
  const sessions = createSessions({ token: options.token });
  const bearer = options.token ? bearerCheck(options.token) : () => false;
  const deps: ConsoleDeps = {
    queue: options.queue,
    live: options.live,
    secrets: options.secrets ?? SecretValues.none,
    now: options.now ?? Date.now,
    onReplay: options.onReplay ?? (() => {}),
    assets,
  };

  async function respond(req: IncomingMessage, res: ServerResponse, url: URL): Promise<number> {
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const get = req.method === 'GET' || req.method === 'HEAD';
    if (path === '/') return get ? send(res, { redirect: '/console' }) : methodNotAllowed(path, 'GET');
    if (path === '/favicon.ico') {
      // Browsers ask for it on every page: an empty answer instead of an error in their console.
      res.writeHead(204, SECURITY_HEADERS).end();
      return 204;
    }
    const asset = assets.byPath.get(path);
    if (asset) {
      if (!get) return methodNotAllowed(path, 'GET');
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'content-type': asset.type,
        'content-length': String(asset.body.length),
        // The name carries the file's hash: a new htmx or stylesheet is a new name.
        'cache-control': 'public, max-age=31536000, immutable',
      });
      res.end(asset.body);
      return 200;
    }
    const now = deps.now();
    let session = sessions.read(req, now);
    const cookies: string[] = [];
    const tokenNeeded = options.token !== undefined;
    const signedIn = !tokenNeeded || session?.kind === 't' || bearer(req.headers.authorization);
    if (signedIn && (!session || session.kind === 'l')) {
      const issued = sessions.issue(tokenNeeded ? 't' : 'n', now);
      session = issued.session;
      if (get) cookies.push(issued.cookie);
    }
    if (!signedIn && !session) {
      const issued = sessions.issue('l', now);
      session = issued.session;
      if (get) cookies.push(issued.cookie);
    }
    const current = session!;
    const base = {
      assets,
      csrf: sessions.csrfToken(current),
      loggedIn: tokenNeeded && current.kind === 't',
      req,
      url,
      fragment: isFragment(req),
    };
    let form = new URLSearchParams();
    if (!get) {
      if (req.method !== 'POST') return methodNotAllowed(path, 'GET, HEAD, POST');
      form = await readForm(req);
      // A POST is the session's only with its cookie sent and its token in the form.
      const posted = sessions.read(req, now);
      if (!posted) throw new AdminError('HOOKRELAY_ERR_ADMIN_CSRF', { reason: 'no valid session cookie' });
      if (!sessions.csrfValid(posted, form.get('csrf') ?? undefined)) {
        throw new AdminError('HOOKRELAY_ERR_ADMIN_CSRF', { reason: 'the form token does not match' });
      }
    }
    const request: ConsoleRequest = { ...base, form };
    const extra: Record<string, string[]> = cookies.length > 0 ? { 'set-cookie': cookies } : {};
    if (path === '/console/login') {
      if (!tokenNeeded) return send(res, { redirect: '/console' }, extra);
      if (get)
        return signedIn ? send(res, { redirect: '/console' }, extra) : send(res, loginForm(request), extra);
      if (!sessions.tokenValid(form.get('token') ?? '')) return send(res, loginForm(request, true));
      return send(res, { redirect: '/console' }, { 'set-cookie': [sessions.issue('t', now).cookie] });
    }
    if (path === '/console/logout') {
      if (get) return methodNotAllowed(path, 'POST');
      sessions.end(current);
      return send(
        res,
        { redirect: tokenNeeded ? '/console/login' : '/console' },
        { 'set-cookie': [sessions.clear()] },
      );
    }
    if (!signedIn) {
      if (get && base.fragment) {
        // htmx would follow a redirect and put the login form where the table was: navigate instead.
        res.writeHead(204, { ...SECURITY_HEADERS, ...extra, 'hx-redirect': '/console/login' }).end();
        return 204;
      }
      if (get) return send(res, { redirect: '/console/login' }, extra);
      throw new AdminError('HOOKRELAY_ERR_ADMIN_UNAUTHORIZED');
    }
    return send(res, await screen(path, get, request), extra);
  }

  async function screen(path: string, get: boolean, request: ConsoleRequest): Promise<Answer> {
    const only = (method: 'GET' | 'POST') => {
      if (get !== (method === 'GET')) throw methodNotAllowed(path, method === 'GET' ? 'GET, HEAD' : 'POST');
    };
    if (path === '/console' || path === '/console/routes') {
      only('GET');
      return routesScreen(deps, request);
    }
    if (path === '/console/reload') {
      only('POST');
      if (!deps.live) throw new AdminError('HOOKRELAY_ERR_ADMIN_NOT_FOUND', { reason: 'no running relay' });
      return routesScreen(deps, request, await deps.live.reload('api'));
    }
    if (path === '/console/deliveries') {
      only('GET');
      return deliveriesScreen(deps, request);
    }
    if (path === '/console/replay') {
      only('POST');
      return replayAction(deps, request);
    }
    if (path === '/console/purge') return get ? purgeForm(request) : purgeAction(deps, request);
    const one = /^\/console\/deliveries\/([^/]+)$/.exec(path);
    if (one) {
      only('GET');
      return detailScreen(deps, request, decode(one[1]!));
    }
    throw new AdminError('HOOKRELAY_ERR_ADMIN_NOT_FOUND', { reason: `no console page ${path}` });
  }

  return {
    owns: (path) =>
      path === '/' || path === '/favicon.ico' || path === '/console' || path.startsWith('/console/'),
    async handle(req, res, url) {
      try {
        return await respond(req, res, url);
      } catch (error) {
        const failure =
          error instanceof AdminError
            ? error
            : new AdminError('HOOKRELAY_ERR_ADMIN_QUEUE', { reason: (error as Error).message });
        if (failure.status >= 500)
          options.logger.error({ err: error, path: url.pathname }, 'console request failed');
        if (!req.complete) {
          closeAfterAnswer(req.socket);
          failure.headers.connection = 'close';
        }
        return sendError(res, failure, isFragment(req));
      }
    },
  };

  /** An error as a page: the code and message (escaped like everything else), never a stack. */
  function sendError(res: ServerResponse, error: AdminError, fragment: boolean): number {
    const notice = html`<p class="notice bad" id="error" role="alert"><code>${error.code}</code>: ${error.message}</p>`;
    if (fragment) {
      sendHtml(res, error.status, html`<section id="results">${notice}</section>`, error.headers);
      return error.status;
    }
    const ctx = { assets, csrf: '', loggedIn: false };
    const body = html`<h2>${error.status === 403 || error.status === 401 ? 'Refused' : 'Error'}</h2>
${notice}
<p><a href="/console">Back to the console</a></p>`;
    sendHtml(res, error.status, page(ctx, 'login', 'Error', body), error.headers);
    return error.status;
  }
}

/** htmx asking for the deliveries table only (not a history restore, which wants the page). */
function isFragment(req: IncomingMessage): boolean {
  return (
    req.headers['hx-request'] === 'true' &&
    req.headers['hx-history-restore-request'] !== 'true' &&
    req.headers['hx-target'] === 'results'
  );
}

function send(res: ServerResponse, answer: Answer, headers: Record<string, string | string[]> = {}): number {
  if ('redirect' in answer) {
    redirect(res, answer.redirect, headers);
    return 303;
  }
  sendHtml(res, answer.status, answer.body, { ...headers, ...answer.headers });
  return answer.status;
}

function methodNotAllowed(path: string, allow: string): never {
  throw new AdminError('HOOKRELAY_ERR_ADMIN_METHOD_NOT_ALLOWED', { path, method: allow }, { allow });
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw new AdminError('HOOKRELAY_ERR_ADMIN_FORM_EXPECTED', {
      actual: type ? `, not '${type.slice(0, 60)}'` : '',
    });
  }
  if (Number(req.headers['content-length']) > MAX_FORM) {
    throw new AdminError('HOOKRELAY_ERR_ADMIN_FORM_EXPECTED', { actual: `, and at most ${MAX_FORM} bytes` });
  }
  try {
    const { body } = await readLimited(req, MAX_FORM);
    return new URLSearchParams(body.toString('utf8'));
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) throw error;
    throw new AdminError('HOOKRELAY_ERR_ADMIN_FORM_EXPECTED', { actual: `, and at most ${MAX_FORM} bytes` });
  }
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest(`malformed delivery id '${segment.slice(0, 100)}'`);
  }
}
