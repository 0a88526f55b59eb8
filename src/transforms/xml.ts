import { z } from 'zod';
import type { Plugin } from '../registry.ts';
import type { StepInfo, TransformStep } from './types.ts';

const schema = z
  .strictObject({
    type: z.literal('xml'),
  })
  .meta({ title: 'xml', description: 'DRAFT: being written.' });

export const xmlTransform: Plugin<typeof schema, TransformStep> = {
  type: 'xml',
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
