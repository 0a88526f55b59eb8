/**
 * `echo: true`: the route answers by itself with a JSON description of the request it received
 * (credentials and the configuration's secrets masked), for demos and for testing a sender.
 * Nothing is forwarded, so no key about forwarding or delivery applies.
 */
import { type Call, done } from '../../pipeline/call.ts';
import { send } from '../../pipeline/reply.ts';
import type { RouteBase } from '../../pipeline/route.ts';
import { has, issue, type ModeDefinition, type ModeServices } from '../types.ts';
import { echoBody } from './body.ts';

export type EchoRoute = RouteBase & { delivery: 'echo' };

/** Keys of a route that forwards: on an echo route they would be silently ignored. */
const FORWARDING_KEYS: readonly (readonly [string, ...string[]])[] = [
  ['transform'],
  ['response'],
  ['respond'],
  ['retry'],
  ['timeouts'],
  ['limits', 'response'],
  ['limits', 'jsonDepth'],
  ['queue'],
];

export const echoMode = {
  type: 'echo',
  selector: 'echo',
  description:
    'Instead of forwarding, answer with a JSON description of the request received (secrets masked). For demos and for testing a sender.',
  keys: {},
  check(route, ctx) {
    for (const path of FORWARDING_KEYS) {
      if (has(route, path[0], path[1])) {
        issue(ctx, [...path], 'does not apply to an echo route (it answers itself and forwards nothing)');
      }
    }
    if (has(route, 'dedup')) {
      issue(ctx, ['dedup'], 'needs `delivery: async` or `hybrid` (ids are kept in the queue store)');
    }
    if (has(route, 'stream')) issue(ctx, ['stream'], 'only applies to `delivery: stream`');
    if (has(route, 'hybrid')) issue(ctx, ['hybrid'], 'only applies to `delivery: hybrid`');
    if (route.delivery !== undefined && route.delivery !== 'sync') {
      issue(ctx, ['delivery'], 'an echo route answers itself; it has no delivery mode');
    }
  },
  compile(parts): EchoRoute {
    return {
      id: parts.id,
      path: parts.path,
      methods: parts.methods,
      delivery: 'echo',
      verify: parts.verify,
      handshake: parts.handshake,
      limits: { body: parts.limits.body },
    };
  },
  queued: false,
  start(_routes, services: ModeServices) {
    return {
      takes: 'message',
      async handle(call: Call, message) {
        const { requestIdHeader } = call.ctx;
        const headers = {
          'content-type': 'application/json; charset=utf-8',
          [requestIdHeader]: call.requestId,
        };
        send(call.res, 200, headers, echoBody(message, services.secrets));
        done(call, 200, { attempts: 0, result: 'echo' });
      },
    };
  },
} satisfies ModeDefinition;
