import { z } from 'zod';
import type { Plugin } from '../registry.ts';
import type { StepInfo, TransformStep } from './types.ts';

const schema = z
  .strictObject({
    type: z.literal('headers'),
  })
  .meta({ title: 'headers', description: 'DRAFT: being written.' });

export const headersTransform: Plugin<typeof schema, TransformStep> = {
  type: 'headers',
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
