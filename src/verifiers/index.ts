/** Every inbound verifier kind. Adding one = one file + one line here and in the union below. */
import { z } from 'zod';
import { createRegistry } from '../core/registry.ts';
import { adyenVerifier } from './adyen.ts';
import { apiKeyVerifier } from './api-key.ts';
import { basicVerifier } from './basic.ts';
import { bitbucketVerifier } from './bitbucket.ts';
import { calendlyVerifier } from './calendly.ts';
import { discordVerifier } from './discord.ts';
import { docusignVerifier } from './docusign.ts';
import { githubVerifier } from './github.ts';
import { gitlabVerifier } from './gitlab.ts';
import { hmacVerifier } from './hmac.ts';
import { hubspotVerifier } from './hubspot.ts';
import { intercomVerifier } from './intercom.ts';
import { intuitVerifier } from './intuit.ts';
import { ipAllowVerifier } from './ip-allow.ts';
import { linearVerifier } from './linear.ts';
import { mailgunVerifier } from './mailgun.ts';
import { oktaVerifier } from './okta.ts';
import { paddleVerifier } from './paddle.ts';
import { sendgridVerifier } from './sendgrid.ts';
import { sentryVerifier } from './sentry.ts';
import { shopifyVerifier } from './shopify.ts';
import { slackVerifier } from './slack.ts';
import { squareVerifier } from './square.ts';
import { standardWebhooksVerifier } from './standard-webhooks.ts';
import { stripeVerifier } from './stripe.ts';
import { svixVerifier } from './svix.ts';
import { twilioVerifier } from './twilio.ts';
import { twitchVerifier } from './twitch.ts';
import { typeformVerifier } from './typeform.ts';
import type { Verifier } from './types.ts';
import { vercelVerifier } from './vercel.ts';
import { woocommerceVerifier } from './woocommerce.ts';
import { xeroVerifier } from './xero.ts';
import { zoomVerifier } from './zoom.ts';

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
  squareVerifier,
  zoomVerifier,
  mailgunVerifier,
  sendgridVerifier,
  discordVerifier,
  twitchVerifier,
  hubspotVerifier,
  paddleVerifier,
  calendlyVerifier,
  typeformVerifier,
  linearVerifier,
  intercomVerifier,
  gitlabVerifier,
  bitbucketVerifier,
  woocommerceVerifier,
  xeroVerifier,
  intuitVerifier,
  adyenVerifier,
  svixVerifier,
  sentryVerifier,
  vercelVerifier,
  oktaVerifier,
  docusignVerifier,
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
    squareVerifier.schema,
    zoomVerifier.schema,
    mailgunVerifier.schema,
    sendgridVerifier.schema,
    discordVerifier.schema,
    twitchVerifier.schema,
    hubspotVerifier.schema,
    paddleVerifier.schema,
    calendlyVerifier.schema,
    typeformVerifier.schema,
    linearVerifier.schema,
    intercomVerifier.schema,
    gitlabVerifier.schema,
    bitbucketVerifier.schema,
    woocommerceVerifier.schema,
    xeroVerifier.schema,
    intuitVerifier.schema,
    adyenVerifier.schema,
    svixVerifier.schema,
    sentryVerifier.schema,
    vercelVerifier.schema,
    oktaVerifier.schema,
    docusignVerifier.schema,
  ])
  .meta({ description: 'One check of the caller, chosen by `type`.' });

export type VerifierConfig = z.output<typeof verifierSchema>;
