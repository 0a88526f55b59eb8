/**
 * The `map` transform: reshape the current value into new JSON, declaratively with `fields`
 * (map-fields-step.ts) or with a `jsonata` expression (map-jsonata.ts). Its configuration, checked
 * at load, is map-schema.ts'.
 */
import type { Plugin } from '../core/registry.ts';
import { fieldsStep } from './map-fields-step.ts';
import { jsonataStep } from './map-jsonata.ts';
import { type MapConfig, mapSchema } from './map-schema.ts';
import type { StepInfo, TransformStep } from './types.ts';

export const mapTransform: Plugin<typeof mapSchema, TransformStep> = {
  type: 'map',
  description: 'Field mapping to JSON: declarative `fields` or a `jsonata` expression.',
  schema: mapSchema,
  create(config: MapConfig, info?: StepInfo) {
    const step = info?.name ?? 'map';
    if (config.jsonata !== undefined) return jsonataStep(config.jsonata, config.timeout, step);
    return fieldsStep(config.fields ?? {}, config.keep, step);
  },
};
