/** PLACEHOLDER: the `linear` verifier preset, being written (replace this whole file). */
import { z } from 'zod';
import type { Verifier, VerifierPlugin } from './types.ts';

const schema = z
  .strictObject({ type: z.literal('linear') })
  .meta({ title: 'linear', description: 'placeholder' });

export const linearVerifier: VerifierPlugin<typeof schema> = {
  type: 'linear',
  description: 'placeholder',
  schema,
  create(): Verifier {
    throw new Error('the linear preset is not written yet');
  },
};
