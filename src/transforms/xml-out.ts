import { z } from 'zod';
import type { Plugin } from '../registry.ts';
import type { StepInfo, TransformStep } from './types.ts';

const schema = z
  .strictObject({
    type: z.literal('xml-out'),
  })
  .meta({ title: 'xml-out', description: 'DRAFT: being written.' });

export const xmlOutTransform: Plugin<typeof schema, TransformStep> = {
  type: 'xml-out',
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
