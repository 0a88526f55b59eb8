/** PLACEHOLDER: the `intercom` verifier preset, being written (replace this whole file). */
import { z } from 'zod';
import type { Verifier, VerifierPlugin } from './types.ts';

const schema = z
  .strictObject({ type: z.literal('intercom') })
  .meta({ title: 'intercom', description: 'placeholder' });

export const intercomVerifier: VerifierPlugin<typeof schema> = {
  type: 'intercom',
  description: 'placeholder',
  schema,
  create(): Verifier {
    throw new Error('the intercom preset is not written yet');
  },
};
