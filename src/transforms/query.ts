import { z } from 'zod';
import type { Plugin } from '../registry.ts';
import type { StepInfo, TransformStep } from './types.ts';

const schema = z
  .strictObject({
    type: z.literal('query'),
  })
  .meta({ title: 'query', description: 'DRAFT: being written.' });

export const queryTransform: Plugin<typeof schema, TransformStep> = {
  type: 'query',
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
