/**
 * Everything the doc generators take from src/, in one place, so that when a module of src/ moves
 * only the imports and the source names below change.
 *
 * Per page: the configuration reference and the editor schema need the schema, the loader (to check
 * the page's examples), the header-name field (to recognise it) and the units; errors.md
 * needs the error table and the error bodies the ingress and the admin API send; metrics.md needs the metric
 * definitions and the registry that applies them.
 */
export { AdminError, adminErrorBody } from '../../src/admin/http.ts';
export { parseConfig } from '../../src/config/load.ts';
export { configSchema } from '../../src/config/schema.ts';
export { CONFIG_CODES, type ConfigCode } from '../../src/core/config-codes.ts';
export {
  ConfigError,
  ERRORS,
  type ErrorCode,
  type ErrorParams,
  HookrelayError,
  isAdminCode,
} from '../../src/core/errors.ts';
export { headerName } from '../../src/core/fields.ts';
export { formatDuration, formatSize, parseDuration, parseSize } from '../../src/core/units.ts';
export { errorBody } from '../../src/pipeline/reply.ts';
export { createMetrics, METRIC_DEFINITIONS, NO_ROUTE } from '../../src/telemetry/metrics.ts';
export { verifierRegistry } from '../../src/verifiers/index.ts';
export type { PresetDoc } from '../../src/verifiers/types.ts';

/** What each generated file is generated from, as its "do not edit" notice names it. */
export const SOURCE = {
  config: 'src/config/schema.ts',
  errors: 'the ERRORS table in src/core/errors.ts and CONFIG_CODES in src/core/config-codes.ts',
  metrics: 'METRIC_DEFINITIONS in src/telemetry/metrics.ts',
  presets: 'the `preset` entry of each provider preset in src/verifiers/',
} as const;
