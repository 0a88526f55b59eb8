import { z } from 'zod';
import { createRegistry } from '../registry.ts';
import { apiKeyVerifier } from './api-key.ts';
import { basicVerifier } from './basic.ts';
import { hmacVerifier } from './hmac.ts';
import { ipAllowVerifier } from './ip-allow.ts';
import type { Verifier } from './types.ts';

/** Every inbound verifier kind. Adding one = one file + one line here and in the union below. */
export const verifierRegistry = createRegistry<Verifier>('verifier', [
  basicVerifier,
  apiKeyVerifier,
  ipAllowVerifier,
  hmacVerifier,
]);

export const verifierSchema = z
  .discriminatedUnion('type', [
    basicVerifier.schema,
    apiKeyVerifier.schema,
    ipAllowVerifier.schema,
    hmacVerifier.schema,
  ])
  .meta({ description: 'One check of the caller, chosen by `type`.' });

export type VerifierConfig = z.output<typeof verifierSchema>;
