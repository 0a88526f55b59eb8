/**
 * Every metric hookrelay exports, on our own Registry (never prom-client's global one, which leaks
 * between tests and embedders). Names follow Prometheus conventions: `hookrelay_` prefix, base
 * units, `_total` counters. Labels are config ids and bounded enums only, never caller input.
 * docs/metrics.md is generated from METRIC_DEFINITIONS.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Inbound duration buckets: a relay adds milliseconds; targets can take seconds. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const METRIC_DEFINITIONS = {
  requests: {
    type: 'counter',
    name: 'hookrelay_requests_total',
    help: 'Inbound requests answered, by route, method and response status code.',
    labelNames: ['route', 'method', 'status'],
  },
  requestDuration: {
    type: 'histogram',
    name: 'hookrelay_request_duration_seconds',
    help: 'Time from receiving an inbound request to answering it, retries included.',
    labelNames: ['route', 'method'],
  },
  inFlight: {
    type: 'gauge',
    name: 'hookrelay_requests_in_flight',
    help: 'Inbound requests being processed.',
    labelNames: ['route'],
  },
  forwardAttempts: {
    type: 'counter',
    name: 'hookrelay_forward_attempts_total',
    help: 'Attempts to deliver to the target, synchronous and queued alike, by outcome: 2xx, 3xx, 4xx, 5xx, timeout, network_error, response_too_large (an answer over limits.response, whatever its status).',
    labelNames: ['route', 'outcome'],
  },
  forwardRetries: {
    type: 'counter',
    name: 'hookrelay_forward_retries_total',
    help: 'Attempts that were retries of an earlier failed attempt.',
    labelNames: ['route'],
  },
  forwardReconnects: {
    type: 'counter',
    name: 'hookrelay_forward_reconnects_total',
    help: 'Exchanges sent once more on a new connection because a reused keep-alive connection to the target was closed or reset before any answer byte (the target had dropped it while idle). Not a retry of the policy, and not counted in hookrelay_forward_attempts_total.',
    labelNames: ['route'],
  },
  upstreamDuration: {
    type: 'histogram',
    name: 'hookrelay_upstream_request_duration_seconds',
    help: 'Duration of one attempt against the target, by outcome.',
    labelNames: ['route', 'outcome'],
  },
  deliveries: {
    type: 'counter',
    name: 'hookrelay_deliveries_total',
    help: 'Finished deliveries, by result: delivered (2xx), rejected (target answered a non-retryable status), failed (attempts exhausted), deadline.',
    labelNames: ['route', 'result'],
  },
  bodyBytes: {
    type: 'counter',
    name: 'hookrelay_request_body_bytes_total',
    help: 'Bytes of inbound request bodies accepted.',
    labelNames: ['route'],
  },
  responseBytes: {
    type: 'counter',
    name: 'hookrelay_response_body_bytes_total',
    help: 'Bytes of target response bodies streamed back to callers by stream routes.',
    labelNames: ['route'],
  },
  errors: {
    type: 'counter',
    name: 'hookrelay_errors_total',
    help: 'Error answers given to callers, by error code (see docs/errors.md).',
    labelNames: ['route', 'code'],
  },
  verifyFailures: {
    type: 'counter',
    name: 'hookrelay_verify_failures_total',
    help: 'Requests refused by a `verify` check, by route, verifier type and reason (missing, malformed, mismatch, expired, replayed, forbidden; unavailable: the shared replay window could not be asked).',
    labelNames: ['route', 'verifier', 'reason'],
  },
  ruleMatches: {
    type: 'counter',
    name: 'hookrelay_rule_matches_total',
    help: 'Calls a route rule matched, by route, rule name and action (answer, refuse, drop, target). `action="drop"` counts the events acknowledged and forwarded nowhere.',
    labelNames: ['route', 'rule', 'action'],
  },
  handshakes: {
    type: 'counter',
    name: 'hookrelay_handshakes_answered_total',
    help: "Provider handshakes (the route's `handshake`) answered by the relay itself, never forwarded, by route and handshake type.",
    labelNames: ['route', 'type'],
  },
  handshakeRefusals: {
    type: 'counter',
    name: 'hookrelay_handshakes_refused_total',
    help: 'Provider handshakes refused, by route, handshake type and reason: forbidden (the token did not match, 403), malformed (challenge missing or unusable, 400).',
    labelNames: ['route', 'type', 'reason'],
  },
  targetsUnmatched: {
    type: 'counter',
    name: 'hookrelay_targets_unmatched_total',
    help: "Calls of a fan-out route for which no target's `when` held: acknowledged (200, `dropped`) and forwarded nowhere, by route.",
    labelNames: ['route'],
  },
  transformErrors: {
    type: 'counter',
    name: 'hookrelay_transform_errors_total',
    help: 'Requests refused by a transform step, by route and step (`<index>-<type>`, `response-<index>-<type>` for response steps).',
    labelNames: ['route', 'step'],
  },
  xmlLimitRefusals: {
    type: 'counter',
    name: 'hookrelay_xml_limit_refusals_total',
    help: 'XML bodies refused by a limit of an `xml` step, by route and the setting that refused them: maxElements, maxAttributes, maxTextNodes (413), maxDepth, allowDoctype (400: a DOCTYPE, or one with an internal subset), parsing.workerMemory (413).',
    labelNames: ['route', 'limit'],
  },
  parseJobs: {
    type: 'counter',
    name: 'hookrelay_parse_pool_jobs_total',
    help: 'Bodies handed to the parsing worker threads (at least `parsing.workerThreshold` large), by route and outcome: parsed, refused (the body was refused with a 4xx), busy (503, queue full), failed (the worker died or failed: 500, or 413 for parsing.workerMemory), shutdown (503, the relay stopped).',
    labelNames: ['route', 'outcome'],
  },
  parseWorkers: {
    type: 'gauge',
    name: 'hookrelay_parse_pool_workers',
    help: 'Parsing worker threads running (started when a large body arrives, ended after `parsing.idleTimeout` idle).',
    labelNames: [],
  },
  parseQueued: {
    type: 'gauge',
    name: 'hookrelay_parse_pool_queued',
    help: 'Large bodies waiting for a parsing worker thread.',
    labelNames: [],
  },
  parseWait: {
    type: 'histogram',
    name: 'hookrelay_parse_pool_wait_seconds',
    help: 'Time a large body waited for a parsing worker thread before its parse began.',
    labelNames: [],
  },
  queueEnqueued: {
    type: 'counter',
    name: 'hookrelay_queue_enqueued_total',
    help: 'Webhooks offered to the durable queue, by result: accepted, duplicate (dropped by dedup), full (503, backpressure), failed (503, storage error).',
    labelNames: ['route', 'result'],
  },
  queueFinished: {
    type: 'counter',
    name: 'hookrelay_queue_deliveries_total',
    help: 'Queued deliveries by outcome: delivered, dead (dead-lettered), retry (an attempt failed and was rescheduled), replayed (by an operator).',
    labelNames: ['route', 'outcome'],
  },
  queueDepth: {
    type: 'gauge',
    name: 'hookrelay_queue_depth',
    help: 'Queued deliveries by state (pending, inflight, dead, delivered) as of the last refresh (every few seconds).',
    labelNames: ['route', 'state'],
  },
  queuePendingBytes: {
    type: 'gauge',
    name: 'hookrelay_queue_pending_bytes',
    help: 'Bytes of pending and in-flight deliveries: their bodies and their kept attempt history.',
    labelNames: ['route'],
  },
  queueOldest: {
    type: 'gauge',
    name: 'hookrelay_queue_oldest_pending_age_seconds',
    help: 'Age of the oldest pending or in-flight delivery (0 when none).',
    labelNames: ['route'],
  },
  queueStoreReady: {
    type: 'gauge',
    name: 'hookrelay_queue_store_ready',
    help: "1 while this instance can use the queue's store (the redis driver: Redis answers on every connection), 0 while it cannot; sqlite is always 1. Per instance.",
    labelNames: [],
  },
  queueWatchdogRebuilds: {
    type: 'counter',
    name: 'hookrelay_queue_watchdog_rebuilds_total',
    help: 'Redis connections and stalled-job checks the watchdog found stuck while Redis answered, and rebuilt. Per instance.',
    labelNames: [],
  },
  circuit: {
    type: 'gauge',
    name: 'hookrelay_circuit_state',
    help: 'Circuit breaker state of a queued route: 1 for the current state (closed, open, half_open), 0 for the others.',
    labelNames: ['route', 'state'],
  },
  clientErrors: {
    type: 'counter',
    name: 'hookrelay_http_client_errors_total',
    help: "Requests refused for the way the caller sent them, by reason: headers_timeout and request_timeout (408, Node's timers), body_too_slow (408, server.minBodyRate), headers_too_large (431), malformed (400), reset (the caller went away; not answered).",
    labelNames: ['reason'],
  },
  connectionsDropped: {
    type: 'counter',
    name: 'hookrelay_http_connections_dropped_total',
    help: 'Connections closed before a request was read, by listener (main, admin) and reason: max_connections (over server.maxConnections), client_max_connections (over server.perClient.maxConnections), first_byte_timeout (nothing sent within server.firstByteTimeout).',
    labelNames: ['listener', 'reason'],
  },
  connectionsOpen: {
    type: 'gauge',
    name: 'hookrelay_http_connections_open',
    help: 'Connections open on a listener (main, admin).',
    labelNames: ['listener'],
  },
  connectionsLimit: {
    type: 'gauge',
    name: 'hookrelay_http_connections_limit',
    help: 'Connections a listener (main, admin) accepts at once: server.maxConnections as resolved at start (`auto` from the open-file limit).',
    labelNames: ['listener'],
  },
  authTokenRequests: {
    type: 'counter',
    name: 'hookrelay_auth_token_requests_total',
    help: 'OAuth2 token requests of `forward.auth`, by the route whose delivery needed the token and outcome: success, http_error, invalid_response, network_error, timeout.',
    labelNames: ['route', 'outcome'],
  },
  authUnauthorizedRetries: {
    type: 'counter',
    name: 'hookrelay_auth_unauthorized_retries_total',
    help: 'Target 401 answers that made hookrelay drop the cached OAuth2 token and repeat the attempt once with a fresh one.',
    labelNames: ['route'],
  },
  fetchRequests: {
    type: 'counter',
    name: 'hookrelay_fetch_requests_total',
    help: 'Lookups of `fetch` transform steps, by route, step (`<index>-fetch`) and outcome: ok, answered (a status `answers` covers), status (a non-2xx no answer covers), unreachable, timeout, too_large, malformed, auth (the OAuth2 token could not be had), missing_value (a URL placeholder had no value), invalid_value (its value would change the lookup path: a slash, a dot segment); neither sends anything.',
    labelNames: ['route', 'step', 'outcome'],
  },
  fetchDuration: {
    type: 'histogram',
    name: 'hookrelay_fetch_duration_seconds',
    help: "Duration of a `fetch` step's lookup, its retries and token request included, by route, step and outcome (as hookrelay_fetch_requests_total).",
    labelNames: ['route', 'step', 'outcome'],
  },
  dedupDropped: {
    type: 'counter',
    name: 'hookrelay_dedup_dropped_total',
    help: 'Webhooks dropped because their id was already accepted within the dedup window.',
    labelNames: ['route'],
  },
  routes: {
    type: 'gauge',
    name: 'hookrelay_config_routes',
    help: 'Routes in the loaded configuration.',
    labelNames: [],
  },
  configReloads: {
    type: 'counter',
    name: 'hookrelay_config_reloads_total',
    help: 'Configuration reloads (SIGHUP, the file watch, POST /reload) by result: applied, unchanged (same content), refused (invalid: the old configuration keeps serving).',
    labelNames: ['result'],
  },
  configInfo: {
    type: 'gauge',
    name: 'hookrelay_config_info',
    help: 'Always 1; `hash` is the sha256 (first 12 hex digits) of the configuration file serving now.',
    labelNames: ['hash'],
  },
  configLoaded: {
    type: 'gauge',
    name: 'hookrelay_config_loaded_timestamp_seconds',
    help: 'When the configuration serving now was loaded (Unix time).',
    labelNames: [],
  },
  buildInfo: {
    type: 'gauge',
    name: 'hookrelay_build_info',
    help: 'Always 1; labels carry the hookrelay and Node.js versions.',
    labelNames: ['version', 'nodejs'],
  },
} as const;

/** Route label for requests that matched no route. */
export const NO_ROUTE = '_none';

const METHOD_LABELS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);

/** Bounded label values: methods outside the known set are grouped as OTHER. */
export function methodLabel(method: string): string {
  return METHOD_LABELS.has(method) ? method : 'OTHER';
}

export type AttemptOutcome =
  | '2xx'
  | '3xx'
  | '4xx'
  | '5xx'
  | 'timeout'
  | 'network_error'
  | 'response_too_large';
export type DeliveryResult = 'delivered' | 'rejected' | 'failed' | 'deadline';

/** Default metrics left out: see createMetrics. */
export const REDUNDANT_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
] as const;

export function createMetrics(options: { version: string; defaultMetrics?: boolean }) {
  const registry = new Registry();
  const d = METRIC_DEFINITIONS;
  const counter = <L extends string>(def: { name: string; help: string; labelNames: readonly L[] }) =>
    new Counter<L>({ name: def.name, help: def.help, labelNames: def.labelNames, registers: [registry] });
  const histogram = <L extends string>(def: { name: string; help: string; labelNames: readonly L[] }) =>
    new Histogram<L>({
      name: def.name,
      help: def.help,
      labelNames: def.labelNames,
      buckets: DURATION_BUCKETS,
      registers: [registry],
    });
  const gauge = <L extends string>(def: { name: string; help: string; labelNames: readonly L[] }) =>
    new Gauge<L>({ name: def.name, help: def.help, labelNames: def.labelNames, registers: [registry] });

  const metrics = {
    registry,
    requests: counter(d.requests),
    requestDuration: histogram(d.requestDuration),
    inFlight: gauge(d.inFlight),
    forwardAttempts: counter(d.forwardAttempts),
    forwardRetries: counter(d.forwardRetries),
    forwardReconnects: counter(d.forwardReconnects),
    upstreamDuration: histogram(d.upstreamDuration),
    deliveries: counter(d.deliveries),
    bodyBytes: counter(d.bodyBytes),
    responseBytes: counter(d.responseBytes),
    errors: counter(d.errors),
    verifyFailures: counter(d.verifyFailures),
    ruleMatches: counter(d.ruleMatches),
    handshakes: counter(d.handshakes),
    handshakeRefusals: counter(d.handshakeRefusals),
    targetsUnmatched: counter(d.targetsUnmatched),
    transformErrors: counter(d.transformErrors),
    xmlLimitRefusals: counter(d.xmlLimitRefusals),
    parseJobs: counter(d.parseJobs),
    parseWorkers: gauge(d.parseWorkers),
    parseQueued: gauge(d.parseQueued),
    parseWait: histogram(d.parseWait),
    queueEnqueued: counter(d.queueEnqueued),
    queueFinished: counter(d.queueFinished),
    queueDepth: gauge(d.queueDepth),
    queuePendingBytes: gauge(d.queuePendingBytes),
    queueOldest: gauge(d.queueOldest),
    queueStoreReady: gauge(d.queueStoreReady),
    queueWatchdogRebuilds: counter(d.queueWatchdogRebuilds),
    circuit: gauge(d.circuit),
    clientErrors: counter(d.clientErrors),
    connectionsDropped: counter(d.connectionsDropped),
    connectionsOpen: gauge(d.connectionsOpen),
    connectionsLimit: gauge(d.connectionsLimit),
    authTokenRequests: counter(d.authTokenRequests),
    authUnauthorizedRetries: counter(d.authUnauthorizedRetries),
    fetchRequests: counter(d.fetchRequests),
    fetchDuration: histogram(d.fetchDuration),
    dedupDropped: counter(d.dedupDropped),
    routes: gauge(d.routes),
    configReloads: counter(d.configReloads),
    configInfo: gauge(d.configInfo),
    configLoaded: gauge(d.configLoaded),
    buildInfo: gauge(d.buildInfo),
  };
  metrics.buildInfo.set({ version: options.version, nodejs: process.versions.node }, 1);
  for (const result of ['applied', 'unchanged', 'refused']) metrics.configReloads.inc({ result }, 0);
  if (options.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry });
    // prom-client exports these as gauges named `_total`, which `promtool check metrics` rejects
    // (only counters may end in `_total`). Summing the per-type `nodejs_active_*` gauges gives the same.
    for (const name of REDUNDANT_DEFAULT_METRICS) registry.removeSingleMetric(name);
  }
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;
