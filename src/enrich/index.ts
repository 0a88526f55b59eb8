/**
 * Enrichment: the `fetch` transform step, which calls an API during the transform and puts its
 * answer into the payload. It needs outbound auth and the delivery client, so it cannot be a
 * transform plugin (plugins see only the core); it sits in its own layer above delivery, and the
 * route schema's step union and config/compile.ts take it beside the registry's kinds.
 */
export { type FetchAnswer, FetchAnswered, FetchPreview } from './outcomes.ts';
export { type FetchConfig, fetchSchema, lookupFixtureSchema } from './schema.ts';
export { createFetchStep, type EnrichRuntime } from './step.ts';
