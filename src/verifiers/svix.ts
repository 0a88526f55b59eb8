/** PLACEHOLDER: the `svix` verifier preset, being written (replace this whole file). */
import { z } from 'zod';
import type { Verifier, VerifierPlugin } from './types.ts';

const schema = z
  .strictObject({ type: z.literal('svix') })
  .meta({ title: 'svix', description: 'placeholder' });

export const svixVerifier: VerifierPlugin<typeof schema> = {
  type: 'svix',
  description: 'placeholder',
  schema,
  create(): Verifier {
    throw new Error('the svix preset is not written yet');
  },
};
