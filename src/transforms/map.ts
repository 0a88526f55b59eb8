import { z } from 'zod';
import type { Plugin } from '../registry.ts';
import type { StepInfo, TransformStep } from './types.ts';

const schema = z
  .strictObject({
    type: z.literal('map'),
  })
  .meta({ title: 'map', description: 'DRAFT: being written.' });

export const mapTransform: Plugin<typeof schema, TransformStep> = {
  type: 'map',
  description: 'DRAFT',
  schema,
  create(_config, info?: StepInfo) {
    return {
      run() {
        throw new Error(`${info?.name}: not written yet`);
      },
    };
  },
};
