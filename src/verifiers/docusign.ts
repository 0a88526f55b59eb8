/** PLACEHOLDER: the `docusign` verifier preset, being written (replace this whole file). */
import { z } from 'zod';
import type { Verifier, VerifierPlugin } from './types.ts';

const schema = z
  .strictObject({ type: z.literal('docusign') })
  .meta({ title: 'docusign', description: 'placeholder' });

export const docusignVerifier: VerifierPlugin<typeof schema> = {
  type: 'docusign',
  description: 'placeholder',
  schema,
  create(): Verifier {
    throw new Error('the docusign preset is not written yet');
  },
};
