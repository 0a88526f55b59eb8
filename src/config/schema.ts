/**
 * The single source of truth for the configuration: validation, the TypeScript types and
 * docs/configuration.md (scripts/gen-docs.ts) all come from here, assembled from its sections,
 * the route schema and the plugins' and modes' fragments. Objects are strict: an unknown key is
 * an error, so a typo never passes silently.
 */
import { z } from 'zod';
import { checkConfig } from './config-rules.ts';
import { defaultsSection } from './defaults-schema.ts';
import { evenAfterErrors, routeSchema } from './route-schema.ts';
import {
  adminSection,
  logSection,
  metricsSection,
  parsingSection,
  queueSection,
  serverSection,
  tracingSection,
} from './sections.ts';

export const configShape = z.strictObject({
  server: serverSection,
  parsing: parsingSection,
  log: logSection,
  metrics: metricsSection,
  tracing: tracingSection,
  queue: queueSection,
  admin: adminSection,
  defaults: defaultsSection,
  routes: z.array(routeSchema).min(1, { message: 'at least one route is required' }),
});

export const configSchema = configShape
  .superRefine(checkConfig, evenAfterErrors)
  .meta({ title: 'hookrelay configuration' });

export type { RouteConfig } from './route-schema.ts';
export { routeSchema } from './route-schema.ts';
export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type Defaults = Config['defaults'];

export { isLoopback } from './config-rules.ts';
