/**
 * The proxy behind stream routes: one http-proxy-3 server (its native node:http path, not the
 * fetch one) and a keep-alive agent per target. http-proxy reports through server-wide events;
 * each is routed back to its exchange by the inbound request.
 */
import type { IncomingMessage } from 'node:http';
import { createProxyServer, type ProxyServer } from 'http-proxy-3';
import type { Metrics } from '../../telemetry/metrics.ts';
import { StreamAgents } from './agents.ts';
import { type ExchangeHooks, type ExchangeSpec, runExchange, type StreamOutcome } from './exchange.ts';

export class StreamProxy {
  readonly agents = new StreamAgents();
  readonly #proxy: ProxyServer;
  readonly #hooks = new WeakMap<IncomingMessage, ExchangeHooks>();

  constructor() {
    this.#proxy = createProxyServer({
      // The URL is complete (prefix joined, query appended, credentials applied): used as is.
      ignorePath: true,
      // The response is written by the exchange, with the same header hygiene as buffered routes.
      selfHandleResponse: true,
      followRedirects: false,
      xfwd: false,
    });
    // After http-proxy's own header passes (which would e.g. zero the length of a DELETE): the
    // upstream request carries exactly the headers the route built.
    this.#proxy.before('web', 'stream', (req) => {
      const hooks = this.#hooks.get(req);
      if (hooks) req.headers = hooks.headers as IncomingMessage['headers'];
    });
    this.#proxy.on('proxyReq', (proxyReq, req, _res, _options, socket) => {
      this.#hooks.get(req)?.onProxyReq(proxyReq, socket);
    });
    this.#proxy.on('proxyRes', (proxyRes, req) => {
      this.#hooks.get(req)?.onProxyRes(proxyRes);
    });
    // Every call passes its own error callback; this only keeps a stray event from throwing.
    this.#proxy.on('error', () => {});
  }

  exchange(spec: ExchangeSpec, metrics: Metrics): Promise<StreamOutcome> {
    return runExchange(spec, metrics, (s, hooks, body, onError) => {
      this.#hooks.set(s.req, hooks);
      this.#proxy.web(
        s.req,
        s.res,
        {
          target: s.url,
          method: s.method,
          agent: s.agent,
          connectTimeout: s.connectTimeout,
          buffer: body,
        },
        (err) => onError(err),
      );
    }).finally(() => this.#hooks.delete(spec.req));
  }

  close(): void {
    this.agents.close();
  }
}
