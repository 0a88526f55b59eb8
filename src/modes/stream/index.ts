/**
 * `delivery: stream`: a proxy. The body goes to the target as it arrives and the answer comes
 * back the same way, never held in memory (files, whole APIs); no transforms, retries or queue,
 * which need the whole body (docs/streaming.md). The shared stages check only the declared length
 * and verify the caller with the verifiers that need no body.
 */
import { z } from 'zod';
import { configCode } from '../../core/config-codes.ts';
import { duration } from '../../core/fields.ts';
import type { Call } from '../../pipeline/call.ts';
import type { ModeDefinition, RouteInput } from '../types.ts';
import { handleStream } from './handler.ts';
import type { StreamProxy } from './proxy.ts';
import type { StreamRoute } from './route.ts';

export type { StreamRoute } from './route.ts';

const streamKey = z
  .strictObject({
    idleTimeout: duration(
      'Longest time without a byte moving in either direction, waiting for the answer included: 504 when the target has not started answering, else both connections are closed.',
      '60s',
    ).default(60_000),
    retryRefused: z.boolean().default(false).meta({
      description:
        'Try once more, 200 ms later, when the connection to the target was refused before any byte of the body was read (the body is read only once a connection is up). No other failure is retried: the body is not kept, so it cannot be sent again.',
    }),
  })
  .optional()
  .meta({ description: 'Options of `delivery: stream`.' });

/** What `checkStreamRoute` reads of a route. */
interface StreamInput {
  transform?: unknown;
  response?: unknown;
  respond?: unknown;
  dedup?: unknown;
  hybrid?: unknown;
  retry?: unknown;
  queue?: unknown;
  timeouts?: { attempt?: unknown; deadline?: unknown };
  limits?: { response?: unknown; jsonDepth?: unknown };
  forward?: { sign?: unknown; followRedirects?: unknown };
  verify?: unknown;
  handshake?: unknown;
}

export const streamMode = {
  type: 'stream',
  selector: 'delivery',
  description:
    '`stream`: a proxy — the body goes to the target as it arrives and the answer comes back the same way, never held in memory (files, whole APIs); no transforms, retries or queue, which need the whole body.',
  keys: { stream: streamKey },
  check: checkStreamRoute,
  compile(parts, route): StreamRoute {
    const { forward } = parts;
    if (!forward) throw new Error(`route '${parts.id}' has no forward block`);
    const stream = route.stream as z.output<typeof streamKey>;
    const limits = route.limits as { body?: number } | undefined;
    return {
      id: parts.id,
      path: parts.path,
      methods: parts.methods,
      delivery: 'stream',
      verify: parts.verify,
      // The schema refuses `handshake` on a stream route: its body is not held to answer from.
      handshake: undefined,
      forward,
      // The webhook-sized default does not cap a stream route: only its own limit does.
      limits: { body: limits?.body ?? Number.POSITIVE_INFINITY },
      timeouts: { connect: parts.timeouts.connect },
      stream: { idleTimeout: stream?.idleTimeout ?? 60_000, retryRefused: stream?.retryRefused ?? false },
    };
  },
  queued: false,
  start() {
    // http-proxy-3 loads when a configuration has a stream route, not at every start; the first
    // calls wait for it, later ones take the proxy directly.
    let proxy: StreamProxy | undefined;
    const loading = import('./proxy.ts').then(({ StreamProxy }) => {
      proxy = new StreamProxy();
      return proxy;
    });
    return {
      takes: 'stream',
      // The lifecycle hands this mode only calls of its own routes, compiled by `compile` above.
      handle: (call) =>
        proxy
          ? handleStream(call as Call<StreamRoute>, proxy)
          : loading.then((loaded) => handleStream(call as Call<StreamRoute>, loaded)),
      close: () => {
        if (proxy) proxy.close();
        else void loading.then((loaded) => loaded.close());
      },
    };
  },
} satisfies ModeDefinition;

/** Verifiers that read only headers and the address (shared tokens included): the body of a stream route is not held to check. */
const BODYLESS_VERIFIERS = ['basic', 'apiKey', 'ipAllow', 'gitlab', 'okta'];

/** A stream route proxies the body as it arrives: whatever needs the whole body cannot apply. */
function checkStreamRoute(input: RouteInput, ctx: z.core.$RefinementCtx): void {
  // Read only the shapes the schema promises (other fields may have failed validation).
  const route = input as StreamInput;
  const why = 'a stream route does not hold the body';
  const refuse = (path: (string | number)[], message: string) =>
    ctx.addIssue({
      code: 'custom',
      params: configCode('HOOKRELAY_CONFIG_CONFLICT'),
      path,
      message: `does not apply to \`delivery: stream\` (${message})`,
    });
  if (route.transform) refuse(['transform'], `${why}; use a sync route`);
  if (route.response) refuse(['response'], 'the answer is streamed back as it arrives');
  if (route.respond) refuse(['respond'], 'the caller gets the answer of the target');
  if (route.dedup) refuse(['dedup'], 'nothing is queued');
  if (route.handshake) refuse(['handshake'], `${why} to answer from; use a sync route`);
  if (route.hybrid) refuse(['hybrid'], 'nothing is queued');
  if (route.retry) {
    refuse(['retry'], `${why}, so it cannot be sent again; see \`stream.retryRefused\``);
  }
  if (route.queue !== undefined) refuse(['queue'], 'nothing is queued');
  for (const key of ['attempt', 'deadline'] as const) {
    if (route.timeouts?.[key] !== undefined) {
      refuse(['timeouts', key], 'a transfer may take long; `stream.idleTimeout` bounds a stalled one');
    }
  }
  if (route.limits?.response !== undefined) refuse(['limits', 'response'], 'the answer is not held');
  if (route.limits?.jsonDepth !== undefined) refuse(['limits', 'jsonDepth'], 'the body is not parsed');
  if (route.forward?.sign) refuse(['forward', 'sign'], `a signature covers the whole body and ${why}`);
  if (typeof route.forward?.followRedirects === 'number' && route.forward.followRedirects > 0) {
    refuse(['forward', 'followRedirects'], `${why} to re-send; a 3xx is relayed to the caller`);
  }
  if (Array.isArray(route.verify)) {
    route.verify.forEach((verifier, index) => {
      const type = (verifier as { type?: unknown })?.type;
      if (typeof type === 'string' && !BODYLESS_VERIFIERS.includes(type)) {
        ctx.addIssue({
          code: 'custom',
          params: configCode('HOOKRELAY_CONFIG_CONFLICT'),
          path: ['verify', index, 'type'],
          message: `'${type}' checks the body, which a stream route does not hold: only ${BODYLESS_VERIFIERS.join(', ')} can verify a \`delivery: stream\` route`,
        });
      }
    });
  }
}
