/** Every inbound verifier kind. Adding one = one file + one line here and in the union below. */
import { z } from 'zod';
import { createRegistry } from '../core/registry.ts';
import { apiKeyVerifier } from './api-key.ts';
import { basicVerifier } from './basic.ts';
import { githubVerifier } from './github.ts';
import { hmacVerifier } from './hmac.ts';
import { ipAllowVerifier } from './ip-allow.ts';
import { shopifyVerifier } from './shopify.ts';
import { slackVerifier } from './slack.ts';
import { standardWebhooksVerifier } from './standard-webhooks.ts';
import { stripeVerifier } from './stripe.ts';
import { twilioVerifier } from './twilio.ts';
import type { Verifier } from './types.ts';

export const verifierRegistry = createRegistry<Verifier>('verifier', [
  basicVerifier,
  apiKeyVerifier,
  ipAllowVerifier,
  hmacVerifier,
  githubVerifier,
  stripeVerifier,
  shopifyVerifier,
  slackVerifier,
  twilioVerifier,
  standardWebhooksVerifier,
]);

export const verifierSchema = z
  .discriminatedUnion('type', [
    basicVerifier.schema,
    apiKeyVerifier.schema,
    ipAllowVerifier.schema,
    hmacVerifier.schema,
    githubVerifier.schema,
    stripeVerifier.schema,
    shopifyVerifier.schema,
    slackVerifier.schema,
    twilioVerifier.schema,
    standardWebhooksVerifier.schema,
  ])
  .meta({ description: 'One check of the caller, chosen by `type`.' });

export type VerifierConfig = z.output<typeof verifierSchema>;
