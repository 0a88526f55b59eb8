/** PLACEHOLDER: the `gitlab` verifier preset, being written (replace this whole file). */
import { z } from 'zod';
import type { Verifier, VerifierPlugin } from './types.ts';

const schema = z
  .strictObject({ type: z.literal('gitlab') })
  .meta({ title: 'gitlab', description: 'placeholder' });

export const gitlabVerifier: VerifierPlugin<typeof schema> = {
  type: 'gitlab',
  description: 'placeholder',
  schema,
  create(): Verifier {
    throw new Error('the gitlab preset is not written yet');
  },
};
