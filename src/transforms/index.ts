/** Every transform step kind. Adding one = one file + one line here and in the union below. */
import { z } from 'zod';
import { createRegistry } from '../core/registry.ts';
import { formTransform } from './form.ts';
import { headersTransform } from './headers.ts';
import { mapTransform } from './map.ts';
import { queryTransform } from './query.ts';
import type { TransformStep } from './types.ts';
import { xmlTransform } from './xml.ts';
import { xmlOutTransform } from './xml-out.ts';

export const transformRegistry = createRegistry<TransformStep>('transform', [
  xmlTransform,
  formTransform,
  queryTransform,
  mapTransform,
  headersTransform,
  xmlOutTransform,
]);

export const transformSchema = z
  .discriminatedUnion('type', [
    xmlTransform.schema,
    formTransform.schema,
    queryTransform.schema,
    mapTransform.schema,
    headersTransform.schema,
    xmlOutTransform.schema,
  ])
  .meta({ description: 'One step of a transform list, chosen by `type`.' });

export type TransformConfig = z.output<typeof transformSchema>;
