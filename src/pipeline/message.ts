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

/** What a stage decides: go on, answer the caller now, or fail with a coded error. */
export type StageResult =
  | { kind: 'continue' }
  | { kind: 'respond'; status: number; headers: Record<string, string>; body: Buffer | string }
  | { kind: 'fail'; error: Error };
