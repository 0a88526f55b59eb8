/**
 * Message types every layer shares: the inbound request as hookrelay holds it, the outbound
 * request plugins add credentials and signatures to, and the counter shape plugins report through.
 */
import type { IncomingHttpHeaders } from 'node:http';

/**
 * The request as hookrelay holds it between ingress and delivery. It knows nothing of express or
 * node:http, so the CLI, workers and tests build and reuse it without a server.
 */
export interface InboundMessage {
  requestId: string;
  routeId: string;
  method: string;
  /** Path as received, without the query. */
  path: string;
  params: Readonly<Record<string, string>>;
  query: URLSearchParams;
  /** Raw query string without the leading `?` ('' when none). */
  rawQuery: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  clientIp: string;
  receivedAt: number;
}

/** The request hookrelay is about to send; auth plugins add credentials to it, signers sign it. */
export interface OutboundRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: Buffer | undefined;
}

/**
 * A labelled counter as a plugin sees one: plugins import only the core, so what they count is
 * handed to them as this (prom-client's counters have this shape).
 */
export interface Counts<L extends string> {
  inc(labels: Partial<Record<L, string | number>>, value?: number): void;
}
